# The two commands of the README:
#   make demo   - set up everything and run a local demo JupyterHub with rtc-presence
#   make test   - set up everything and run every check and test (what CI runs)
# Everything is installed into .venv (Python packages, configurable-http-proxy).

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.rtc-presence-setup
DEMO_ARGS ?=
PYTEST_ARGS ?=
# Tools installed in the venv (jupyter-builder, jlpm, configurable-http-proxy)
# are found by the commands below and by the processes they start.
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test setup lint lint-py lint-ts pytest ui-test bench bench-quick browser clean

demo: setup
	$(BIN)/rtc-presence demo $(DEMO_ARGS)

test: setup lint pytest ui-test

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

setup: $(STAMP)

$(STAMP): $(PY) pyproject.toml labextension/package.json
	$(PY) -m pip install -e ".[test,dev]"
	$(BIN)/jupyter labextension develop --overwrite .
	$(BIN)/jupyter server extension enable --sys-prefix rtc_presence
	# configurable-http-proxy comes from npm, kept inside the venv
	npm install --no-audit --no-fund --prefix $(VENV)/chp configurable-http-proxy@^4.6
	ln -sf $(abspath $(VENV))/chp/node_modules/.bin/configurable-http-proxy $(BIN)/configurable-http-proxy
	touch $@

lint: lint-py lint-ts

lint-py: setup
	$(BIN)/ruff check rtc_presence tests bench
	$(BIN)/ruff format --check rtc_presence tests bench
	$(BIN)/mypy

lint-ts: setup
	cd labextension && jlpm run lint:check
	cd labextension && jlpm run typecheck

pytest: setup
	$(BIN)/pytest $(PYTEST_ARGS)

browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

# Like pytest (rtc_presence.pytest_hermetic), the UI tests run in a temporary home (the
# demo hub, its servers, Chromium) and fail if anything wrote to the real one.
ui-test: setup browser
	cd ui-tests && npm install --no-audit --no-fund
	cd ui-tests && NPM_CONFIG_UPDATE_NOTIFIER=false $(abspath $(PY)) -m rtc_presence.testing.hermetic npx playwright test

bench: setup
	$(PY) -m bench

bench-quick: setup
	$(PY) -m bench --quick

clean:
	rm -rf $(VENV) rtc_presence/labextension labextension/lib labextension/node_modules ui-tests/node_modules
