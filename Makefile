# gdnb: `make demo` runs the walkthrough on the offline sandbox; `make test` runs the tests.
# Both install what they need into .venv first (Python 3.11, plain venv + pip).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install chromium demo test lint lab bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "gdnb needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: install
	$(BIN)/python -m gdnb.demo

# Debian's chromium, for the test that opens the HTML report in a headless browser.
chromium:
	bash scripts/install_chromium.sh

test: install chromium
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

lab: install
	$(BIN)/python -m gdnb.lab

bench: install
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) reports .pytest_cache
