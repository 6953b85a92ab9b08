# Runner Hip Check under gunicorn. Build: docker build -t runner-hip-check .
# Run:   docker run -p 8000:8000 --env-file .env runner-hip-check   (see .env.example)
# Beside it, the check-in worker (docs/follow-up.md), on the same Redis or /app/var volume:
#        docker run --env-file .env runner-hip-check python -m skill worker
# The container always listens on 0.0.0.0:8000, the port EXPOSE and HEALTHCHECK name: the
# --bind below wins over any HOST or PORT in the env file (those are for make run and serve).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_ENV=production \
    STATE_URL=sqlite:////app/var/triage.db \
    PROMETHEUS_MULTIPROC_DIR=/tmp/metrics

WORKDIR /app
RUN groupadd --gid 10001 triage && useradd --uid 10001 --gid 10001 --create-home triage

# Runtime dependencies only (no test extras). Editable, so the package finds content/ beside it.
COPY pyproject.toml app.py gunicorn.conf.py ./
COPY skill ./skill
COPY content ./content
RUN pip install --no-cache-dir -e ".[serve]" \
    && mkdir -p /app/var /tmp/metrics \
    && chown triage:triage /app/var /tmp/metrics

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "app:create_app()"]
