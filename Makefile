# perpmesh — see README.md. Every target is safe to re-run.
SHELL := /bin/bash
export NATS_URL ?= nats://127.0.0.1:4222
export REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: setup build proto proto-check run replay backtest-day test test-unit bench chaos lint prepare up down clean

setup: ## npm deps, Debian's nats-server/redis-server, both started and answering (PERPMESH_DOCKER=1: also make prepare)
	@bash scripts/setup.sh

build: node_modules/.package-lock.json ## compile every workspace (tsc project references), then the start bundle make run uses; skipped when no input changed
	@node scripts/build.mjs

node_modules/.package-lock.json: package-lock.json package.json
	npm install --no-audit --no-fund --loglevel=error

proto: ## regenerate TypeScript from proto/ (ts-proto), lint the protos
	@bash scripts/proto.sh

proto-check: ## fail when the generated code is stale
	@bash scripts/proto.sh --check

run: node_modules/.package-lock.json ## every service in one process, embedded log and store, paper venues (from the sources, compiling beside, when a source changed)
	@MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} node scripts/start.mjs

replay: build ## replay the newest `make run` session: projections, then a strategy's journal (STRATEGY=arb-1)
	@node libs/cli/bin/perpmesh.js replay projections && \
	  node libs/cli/bin/perpmesh.js replay strategy $${STRATEGY:-arb-1}

backtest-day: build ## the funding arb over one day of synthetic tape (SEED=7): summary, chart, wall and CPU time
	@node libs/cli/bin/perpmesh.js backtest config/perpmesh.yaml --tape synthetic:$${SEED:-7}:1d

test: setup proto-check build ## the whole suite: unit, contract, integration, e2e
	@node scripts/test.mjs

test-unit: ## pure tests only, no servers
	@node scripts/test.mjs unit

bench: setup build ## benchmarks, printed as ratios against a baseline in the same run
	@node scripts/bench.mjs

chaos: setup build ## long chaos run: CHAOS_SEED CHAOS_DURATION(s, 180) CHAOS_FAULTS(24) CHAOS_VENUE_FAULTS(15) CHAOS_VENUES(paper|emulated) CHAOS_TARGETS CHAOS_RECOVERY_BOUND(s)
	@node --import tsx --conditions=@perpmesh/source tests/chaos/main.ts

lint: ## biome (format + lint), buf lint, type check
	@npx biome check .
	@npx buf lint
	@npx tsc -b
	@npx tsc -p tests/e2e
	@npx tsc -p tests/chaos
	@npx tsc -p tests/deploy
	@npx tsc -p tests/hangs

# Containers. `docker compose` when the CLI has the plugin, else Debian's docker-compose 1.29.
# LOCAL=1: no registry here: local images from Debian packages (make prepare) and
# deploy/compose.loopback.yml (host networking, 127.0.0.1 only).
COMPOSE := $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
COMPOSE_FILES := -f docker-compose.yml $(if $(LOCAL),-f deploy/compose.loopback.yml,-f docker-compose.override.yml)
COMPOSE_ENV := $(if $(LOCAL),--env-file deploy/.local.env)
COMPOSE_CMD = $(COMPOSE) -p $(or $(COMPOSE_PROJECT),perpmesh) $(COMPOSE_ENV) $(COMPOSE_FILES)

prepare: ## Docker engine, local base/NATS/Redis images from Debian packages (no registry needed)
	@bash scripts/deploy-prepare.sh

deploy/secrets/perpmesh-token:
	@bash scripts/deploy-secrets.sh

up: deploy/secrets/perpmesh-token $(if $(LOCAL),prepare) ## the whole stack in containers, waits until every service is healthy
	DOCKER_BUILDKIT=0 $(COMPOSE_CMD) build
	$(COMPOSE_CMD) up -d
	@node scripts/deploy-wait.mjs $(or $(COMPOSE_PROJECT),perpmesh)

down: ## stop and remove the stack's containers, networks and volumes
	$(COMPOSE_CMD) down -v --remove-orphans

clean:
	rm -rf libs/*/dist services/*/dist
