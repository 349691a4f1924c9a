# Everything a fresh machine with Python 3.11+ and make needs: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every plugin distribution in plugins/ (the Duke policy, the example plugin) is installed editable.
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))

.PHONY: demo test lint typecheck pytest docs docs-serve bench cassettes clean

$(STAMP): pyproject.toml $(wildcard plugins/*/pyproject.toml)
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(foreach d,$(PLUGIN_DIRS),-e $(d))
	touch $@

demo: $(STAMP)
	$(BIN)/alma-onelink demo

test: lint typecheck pytest docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

# Record the cassettes in cassettes/ again, over real HTTP against the sandbox served on 127.0.0.1:8765.
cassettes: $(STAMP)
	$(BIN)/pytest -q tests/test_recorded_traffic.py --record-mode=rewrite

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .hypothesis
