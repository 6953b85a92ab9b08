"""Operations: readiness and metrics endpoints, request ids, JSON logs."""
