# Two commands do all set-up on a fresh machine (see README):
#   make demo   install fashrec in .venv, index the example catalog, run a refinement
#   make test   install fashrec (with test extras) in .venv and run the test suite
#   make browser  install Debian's chromium + chromium-driver for the page tests (root; .ci/run calls it)
PYTHON ?= python3
VENV ?= .venv
# pip's cache keeps the llama-cpp-python wheel it built (a ~7 minute compile) for the next install.
export PIP_CACHE_DIR ?= $(HOME)/.cache/pip

.PHONY: install demo test browser

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

# The shopper's page is tested in a real headless Chromium (tests/serve/test_page.py); without one those
# tests skip and say why, except under CI=true where they fail.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "make browser: need root and apt-get to install chromium + chromium-driver" >&2; \
	  if [ -n "$$CI" ] && [ "$$CI" != false ]; then exit 1; fi; fi
