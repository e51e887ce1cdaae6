# syntax=docker/dockerfile:1
# One image for every Tauro service; compose.yaml (and the Helm chart) picks the module to run:
#   docker build -t tauro:local .
#   docker run --rm tauro:local python -m tauro_runs
# Layers, most stable first: the user and data directory, the pinned uv, the third-party
# dependencies (only the lock file and the members' pyproject.toml files are copied for them,
# so a source change does not rebuild that layer), then the sources and the workspace members.
# Checked by tests/deploy/test_compose.py.

# Pinned base image. For byte-for-byte reproducible builds, pin its digest too:
#   docker buildx imagetools inspect python:3.11.13-slim-bookworm   (then FROM ...@sha256:<digest>)
FROM python:3.11.13-slim-bookworm

# The runtime user (uid/gid 10001, not root) and the only directory it writes: /data holds
# the executors' work directory (node outputs passed between nodes as Parquet files), the
# outputs and any local state. compose.yaml mounts a named volume there; Docker fills a new
# volume from this directory, so the volume is owned by the same user.
RUN groupadd --system --gid 10001 tauro \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/tauro --shell /usr/sbin/nologin tauro \
 && install -d -o 10001 -g 10001 -m 0750 /data /data/work /data/output /data/state

# uv, pinned (the version the lock file is maintained with).
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.9

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# 1. Third-party dependencies: a cached layer that changes only with uv.lock or a member's
#    pyproject.toml. Every workspace member's pyproject.toml is listed (libs/*, services/*,
#    apps/*: the test fails when one is missing).
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/client/pyproject.toml libs/client/
COPY libs/platform/pyproject.toml libs/platform/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/runs/pyproject.toml services/runs/
COPY services/scheduler/pyproject.toml services/scheduler/
COPY services/executor/pyproject.toml services/executor/
COPY services/streaming/pyproject.toml services/streaming/
COPY services/notifier/pyproject.toml services/notifier/
COPY apps/cli/pyproject.toml apps/cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# 2. The sources, then the workspace members themselves (fast: dependencies are in place).
#    examples/ holds the pipeline and stream definitions loaded at start-up (PIPELINES_DIR,
#    STREAMS_DIR default to examples/pipelines and examples/streams).
COPY libs/ libs/
COPY services/ services/
COPY apps/ apps/
COPY examples/ examples/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages \
 && python -m compileall -q libs services apps

ENV PATH="/app/.venv/bin:$PATH" \
    TAURO_WORK_DIR=/data/work \
    TAURO_OUTPUT_DIR=/data/output \
    TAURO_DATA_DIR=/data/state

# Numeric, so a runtime (Kubernetes runAsNonRoot) can verify it is not root. /app stays
# root-owned and read-only to the services.
USER 10001:10001

EXPOSE 8000 9464
CMD ["python", "-m", "tauro_gateway"]
