# gradatlas: `make run` starts the whole service on localhost; `make test` runs every test.
# Installs come from the lock files requirements/main.txt (runtime) and requirements/dev.txt
# (runtime + tools), written by `make lock` from pyproject.toml; see README.md, "Dependencies".
# Brace expansion in the vendor target.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=
# One resolution for every platform and Python >= 3.11, so the lock is the same on every machine.
UV_COMPILE := $(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--custom-compile-command "make lock" --quiet
.PHONY: install test lint run bench bench-api lock upgrade-deps clean vendor presets figures

$(STAMP): requirements/dev.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(STAMP)

test: install
	scripts/ensure-redis.sh
	scripts/ensure-chromium.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

run: install
	scripts/ensure-redis.sh
	scripts/run.sh

bench: install
	# torch is pinned by the bench extra and never in a lock; the lock holds everything else.
	$(PY) -m pip install -q -c requirements/dev.txt -e '.[bench]'
	$(PY) bench/engine.py

bench-api: install
	scripts/ensure-redis.sh
	$(PY) bench/api.py

# Re-resolve the lock files from pyproject.toml, keeping the pins that still satisfy it.
# The dev lock is constrained by the runtime lock, so both agree on every shared package.
lock: install
	$(UV_COMPILE) -o requirements/main.txt
	$(UV_COMPILE) --extra dev -c requirements/main.txt -o requirements/dev.txt

# Move every pin to the newest release pyproject.toml allows.
upgrade-deps: install
	$(UV_COMPILE) --upgrade -o requirements/main.txt
	$(UV_COMPILE) --upgrade --extra dev -c requirements/main.txt -o requirements/dev.txt

# The lab's chart library and the offline /docs and /redoc: pinned npm packages, copied into
# api/static/vendor/ with their licences and committed, so `make run` needs neither npm nor a
# network. Run it only to move a pin.
VENDOR := api/static/vendor
NPM_PACKAGES := swagger-ui-dist@5.35.0 redoc@2.5.4 uplot@1.6.32
vendor:
	rm -rf $(VENDOR) build/vendor && mkdir -p $(VENDOR) build/vendor
	cd build/vendor && npm pack --silent $(NPM_PACKAGES) >/dev/null
	for t in build/vendor/*.tgz; do d=$${t%.tgz}; mkdir -p $$d && tar xzf $$t -C $$d; done
	mkdir -p $(VENDOR)/swagger-ui $(VENDOR)/redoc $(VENDOR)/uplot
	cp build/vendor/swagger-ui-dist-*/package/{swagger-ui-bundle.js,swagger-ui.css,favicon-32x32.png,LICENSE,NOTICE} \
	  $(VENDOR)/swagger-ui/
	cp build/vendor/redoc-*/package/{bundles/redoc.standalone.js,LICENSE} $(VENDOR)/redoc/
	cp build/vendor/uplot-*/package/{dist/uPlot.esm.js,dist/uPlot.min.css,LICENSE} $(VENDOR)/uplot/
	echo "$(NPM_PACKAGES)" | tr ' ' '\n' > $(VENDOR)/VERSIONS
	rm -rf build/vendor

# The lab's presets: gradatlas/examples with their descriptions (tests/api/test_pages.py checks
# that the committed file matches).
presets: install
	$(PY) -c 'import json, gradatlas.examples as ex; print(json.dumps([{"name": n, \
	  "description": ex.DESCRIPTIONS.get(n, n), "spec": json.loads(ex.read_text(n))} \
	  for n in ex.names()], indent=1))' > api/static/lab/presets.json

# docs/tutorial.md's figures, trained afresh from gradatlas/examples into docs/figures/.
figures: install
	MPLBACKEND=Agg $(PY) scripts/make_figures.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
