# One entry point for humans and CI. Every target builds the virtualenv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-browser lint typecheck check bench bench-webhook clean postgres redis

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## The offline demo: the emulator beside the app, on a fresh SQLite file in a new directory
## under demo/. Earlier demos are kept there, never wiped (`make clean` removes them all).
## Other ports: make demo ARGS='--port 8001 --emulator-port 12112'
DEMO_DIR ?= demo
demo: $(STAMP)
	@mkdir -p "$(DEMO_DIR)"
	@run=$$(mktemp -d "$(DEMO_DIR)/$$(date -u +%Y%m%d-%H%M%S)-XXXX") && \
	  echo "Demo data: $$run (earlier demos stay in $(DEMO_DIR)/)" && \
	  cd "$$run" && DATABASE_URL=sqlite:///./stripetopup.db \
	    "$(CURDIR)/$(BIN)/stripetopup" serve --emulator $(ARGS); \
	  status=$$?; cd "$(CURDIR)" && rmdir "$$run" 2>/dev/null; \
	  if [ $$status -eq 2 ]; then echo "Other ports: make demo ARGS='--port 8001 --emulator-port 12112'" >&2; fi; \
	  exit $$status

## The whole suite, on SQLite and PostgreSQL (PostgreSQL required when CI=true).
test: $(STAMP) postgres redis
	$(BIN)/pytest -n 2 --dist loadgroup --cov --cov-report=term

## Only the browser tests (headless Chromium through the buyer's pages); screenshots of every
## page they visit land in test-artifacts/screenshots/ (STRIPETOPUP_ARTIFACTS_DIR elsewhere).
test-browser: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadgroup tests/browser

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
	  (command -v pg_ctlcluster >/dev/null && \
	   pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) || \
	  echo "PostgreSQL is not running on 127.0.0.1:5432; its tests will be skipped outside CI" >&2

redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  (command -v redis-server >/dev/null && mkdir -p /var/lib/redis /var/log/redis && \
	   redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
	     --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null) || \
	  echo "Redis is not running on 127.0.0.1:6379; the shared rate limit test will be skipped outside CI" >&2

lint: $(STAMP)
	$(BIN)/ruff check stripetopup tests bench
	$(BIN)/ruff format --check stripetopup tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

## The webhook benchmark alone (needs wrk: apt-get install wrk), e.g. ARGS='--only sqlite'.
bench-webhook: $(STAMP) postgres
	$(BIN)/python bench/webhook.py $(ARGS)

clean:
	rm -rf $(VENV) demo test-artifacts *.egg-info .pytest_cache .mypy_cache .ruff_cache
