"""Runner hip-pain triage skill: engine, content model, stores and channel adapters."""
