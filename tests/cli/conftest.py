"""Fixtures of the command-line tests: the small drawn catalog indexed by the real `fashrec index`."""

from __future__ import annotations

import json

import pytest


@pytest.fixture()
def indexed(fashrec, small_catalog, tiny_model):
    """The small catalog's index folder, built with the tiny model through the real command."""
    run = fashrec("index", small_catalog, "--model", tiny_model, "--json")
    assert run.returncode == 0, run.stderr
    return small_catalog.parent / "catalog.fashrec-index"


@pytest.fixture()
def products(small_catalog):
    """The small catalog's rows, as written."""
    return [json.loads(line) for line in small_catalog.read_text().splitlines()]


@pytest.fixture()
def shirt(small_catalog):
    """A white linen men's shirt from the demo catalog (its exact photo: the anchor is recognised)."""
    rows = [json.loads(line) for line in small_catalog.read_text().splitlines()]
    row = next(r for r in rows if r["attributes"]["category"] == "shirt" and r["attributes"]["color"] == "white")
    return small_catalog.parent / row["image"]
