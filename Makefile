# gradatlas: `make run` starts the whole service on localhost; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=

.PHONY: install test lint run bench bench-api clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(STAMP)

test: install
	scripts/ensure-redis.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

run: install
	scripts/ensure-redis.sh
	scripts/run.sh

bench: install
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/engine.py

bench-api: install
	scripts/ensure-redis.sh
	$(PY) bench/api.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
