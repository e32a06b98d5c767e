# paddleseg-pssl developer entry points. Everything runs inside $(VENV), created on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pssl-installed
DEMO_OUT ?= demo_output
PYTEST_ARGS ?=

.PHONY: install test test-fast demo bench clean-venv

install: $(STAMP)

# Pinned stack, then InterpretDL without its unsatisfiable pins, then this package (editable).
$(STAMP): requirements.txt requirements-nodeps.txt constraints.txt setup.py paddleseg_pssl_autoload.pth
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS) tests

# The inner loop: every test but those marked slow (they start training, generation or tools
# in subprocesses; `make test` and CI run them).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS) tests

demo: $(STAMP)
	$(PY) tools/demo.py --output $(DEMO_OUT)

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
