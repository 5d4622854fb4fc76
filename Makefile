# Two commands do all set-up on a fresh machine (see README):
#   make demo   install fashrec in .venv, index the example catalog, run a refinement
#   make test   install fashrec (with test extras) in .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
# pip's cache keeps the llama-cpp-python wheel it built (a ~7 minute compile) for the next install.
export PIP_CACHE_DIR ?= $(HOME)/.cache/pip

.PHONY: install demo test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/fashrec index catalog.example.jsonl
	$(VENV)/bin/fashrec refine examples/anchors/white-cotton-shirt.jpg "but in linen" --explain

test: install
	$(VENV)/bin/python -m pytest
