# Everything a fresh machine with Python 3.11+ and make needs: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every plugin distribution in plugins/ (the Duke policy, the example plugin) is installed editable.
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugins/*/pyproject.toml))

.PHONY: demo test lint typecheck pytest docs docs-serve bench cassettes test-alma test-peers clean cli-docs

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

# docs/cli.md is generated from the commands' own help; tests/cli/test_cli_docs.py fails when it is stale.
cli-docs: $(STAMP)
	$(BIN)/typer alma_onelink.cli utils docs --name alma-onelink --title "The alma-onelink command" --output docs/cli.md

# Record cassettes/ again: the contract suite (tests/contract) over real HTTP against the demo sandbox
# served on 127.0.0.1 and a free port, then the check that every cassette is safe to keep.
cassettes: $(STAMP)
	$(BIN)/pytest -q tests/contract --record-mode=rewrite
	$(BIN)/pytest -q tests/contract/test_recordings_are_safe.py

# The contract suite against a real Alma (an institution's Alma sandbox): ALMA_API_KEY and ALMA_BASE_URL
# (or ALMA_REGION), ALMA_TEST_USER_GROUPS=GROUP1,GROUP2 to write; ARGS=--alma-read-only to only read.
# See cassettes/README.md.
test-alma: $(STAMP)
	$(BIN)/pytest -q tests/contract --alma-live --disable-recording $(ARGS)

# The other Alma clients (almapy, almaapitk, almapiwrapper, almapipy) against the served sandbox.
test-peers: $(STAMP)
	$(BIN)/pytest -q -m peers tests/sandbox/test_sandbox_peers.py

# Every bench script in turn, each stopped after BENCH_TIMEOUT seconds at most (each also caps its own
# runs: about 20 minutes in all). BENCH_SKIP_PEERS=1 leaves the other Alma clients out of bench/peers.py.
BENCH_TIMEOUT ?= 900
bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; timeout $(BENCH_TIMEOUT) $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .hypothesis
