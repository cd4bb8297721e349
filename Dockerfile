# syntax=docker/dockerfile:1
# One image for every deployable; the command picks which (docker-compose.yml, deploy/k8s/):
#   trail-etl serve weather-service|mock-owm --host 0.0.0.0 --port N
#   trail-etl schedule [--every 5m]
#   trail-etl worker fetch-weather|categorize-trail-conditions
# Settings come from the environment at run time; nothing secret is baked in.
ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: resolve the locked dependencies into /app/.venv with uv --------------------------
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in a layer of their own: it is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project
# Then the project itself (an editable install: the venv points at /app, where the final stage
# puts the same source).
COPY etl_core ./etl_core
COPY services ./services
COPY weather_service ./weather_service
COPY mock_owm ./mock_owm
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev \
    && python -m compileall -q etl_core services weather_service mock_owm

# --- final: the venv and the source, nothing else; runs as a non-root user ---------------------
FROM ${PYTHON_IMAGE} AS final
ARG APP_UID=10001
# A numeric user, so Kubernetes' runAsNonRoot can check it. /data holds the schedule-jobs outbox
# (a volume in Compose and Kubernetes); a new named volume takes this owner.
RUN groupadd --system --gid "${APP_UID}" trail \
    && useradd --system --uid "${APP_UID}" --gid trail --no-create-home --home-dir /app trail \
    && mkdir -p /data \
    && chown "${APP_UID}:${APP_UID}" /data
WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/pyproject.toml /app/README.md ./
COPY --from=builder /app/etl_core ./etl_core
COPY --from=builder /app/services ./services
COPY --from=builder /app/weather_service ./weather_service
COPY --from=builder /app/mock_owm ./mock_owm
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OUTBOX_PATH=/data/schedule-jobs-outbox.sqlite3
USER 10001:10001
EXPOSE 8000 8001 9100
ENTRYPOINT ["trail-etl"]
CMD ["--help"]
