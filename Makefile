# Tauro: two commands do all set-up on a fresh machine.
#   make run    embedded platform, one process, no Docker, no servers to install
#   make test   starts real Kafka + a MongoDB-wire server, runs every test, stops them
#   make up     distributed mode: real Kafka + MongoDB-wire server + each service its own process
#   make chaos  the long chaos run: 20+ minutes, 100+ SIGKILLs, invariants checked, a summary table
SHELL := /bin/bash
UV := python3 -m uv
PORT ?= 8000

.PHONY: install run test chaos up down status lint typecheck check rebuild migrate clean-data

install:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	@$(UV) sync --quiet

run: install
	$(UV) run tauro dev --port $(PORT)

test: install
	bash scripts/test.sh

# CHAOS_ARGS: e.g. "--minutes 30 --kills 150 --seed 7" (python -m bench.chaos --help)
chaos: install
	bash scripts/chaos.sh $(CHAOS_ARGS)

up: install
	bash scripts/dist.sh up

down:
	bash scripts/dist.sh down

status:
	bash scripts/dist.sh status

lint: install
	$(UV) run ruff check .

typecheck: install
	$(UV) run mypy libs/contracts/src libs/platform/src services/*/src apps/*/src

check: lint typecheck

rebuild: install
	$(UV) run tauro rebuild --check

migrate: install
	$(UV) run python -m tauro_platform.migrations up

clean-data:
	rm -rf .tauro/data .tauro/work .tauro/output
