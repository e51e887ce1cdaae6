# syntax=docker/dockerfile:1
# One image for every Tauro service; compose.yaml picks the module to run:
#   docker build -t tauro:local .
#   docker run --rm tauro:local python -m tauro_runs
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir "uv>=0.5,<1"

WORKDIR /app
COPY . .
# Every workspace member (libs/*, services/*, apps/*), no dev tools; use the lock
# file when there is one.
RUN --mount=type=cache,target=/root/.cache/uv \
    if [ -f uv.lock ]; then uv sync --frozen --no-dev --all-packages; \
    else uv sync --no-dev --all-packages; fi

ENV PATH="/app/.venv/bin:$PATH"
RUN useradd --create-home --uid 10001 tauro
USER tauro

EXPOSE 8000
CMD ["python", "-m", "tauro_gateway"]
