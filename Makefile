# The two commands of the README: `make demo` and `make test`. Both bootstrap .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean services docs dist

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python examples/quickstart.py

services:
	@bash scripts/services.sh
	@bash scripts/browser.sh

# Two pytest processes at once (scripts/test.sh says why), one coverage report.
test: install services
	@bash scripts/test.sh $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests examples bench
	$(BIN)/mypy

# The documentation site (mkdocs-material, strict: a broken link or a missing page fails), into site/.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# An sdist and a wheel into dist/.
dist: install
	$(BIN)/python -m build --installer uv -o dist .

# `make bench` (~10 min on 2 cores) builds bench/.peers-venv for the peers on first use;
# `make bench BENCH_ARGS=--quick` is the short version. bench/serve_bench.py then measures
# `tether serve` beside Agno's AgentOS (1 and 2 processes each, ~6 min; its own Agno venv).
bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/serve_bench.py --runs 600 --concurrency 50

clean:
	rm -rf $(VENV) .tether build dist site
