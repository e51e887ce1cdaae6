# Tauro: two commands do all set-up on a fresh machine.
#   make run    embedded platform, one process, no Docker, no servers to install
#   make test   starts real Kafka + a MongoDB-wire server, runs every test, stops them
#   make up     distributed mode: real Kafka + MongoDB-wire server + each service its own process
#   make chaos  the long chaos run: 20+ minutes, 100+ SIGKILLs, invariants checked, a summary table
#   make bench  the performance figures (bench/perf.py) on an embedded platform it starts itself
SHELL := /bin/bash
UV := python3 -m uv
PORT ?= 8000

.PHONY: install run test chaos bench up down status lint typecheck check rebuild migrate clean-data compose-env

install:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --quiet --locked

run: install
	$(UV) run tauro dev --port $(PORT)

test: install
	bash scripts/test.sh

# CHAOS_ARGS: e.g. "--minutes 30 --kills 150 --seed 7" (python -m bench.chaos --help)
chaos: install
	bash scripts/chaos.sh $(CHAOS_ARGS)

# BENCH_ARGS: e.g. "--quick", "--only chain,latency", "--url http://127.0.0.1:8000" (bench/perf.py --help)
bench: install
	$(UV) run python bench/perf.py $(BENCH_ARGS)

up: install
	bash scripts/dist.sh up

down:
	bash scripts/dist.sh down

# once before `docker compose up`: writes .env (secret key, first admin API key, Grafana password); never overwrites
compose-env:
	bash scripts/compose-env.sh

status:
	bash scripts/dist.sh status

lint: install
	$(UV) run ruff check .

typecheck: install
	$(UV) run mypy libs/contracts/src libs/client/src libs/platform/src services/*/src apps/*/src

check: lint typecheck

rebuild: install
	$(UV) run tauro rebuild --check

migrate: install
	$(UV) run python -m tauro_platform.migrations up

clean-data:
	rm -rf .tauro/data .tauro/work .tauro/output
