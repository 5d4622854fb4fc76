"""CLI layer: the renderer, imported only when an answer is drawn for a person.

:mod:`fashrec.cli.render` imports rich's tables and text (~35-45 ms of a cold start). A ``--json``
answer is written with ``sys.stdout`` and never needs them, so the query commands (search, similar,
refine, outfit) reach the renderer through :func:`renderer` at the moment they draw, not at import
(tests/cli/test_startup.py keeps rich off their ``--json`` path).
"""

from __future__ import annotations

from types import ModuleType


def renderer() -> ModuleType:
    """:mod:`fashrec.cli.render`, imported on first use (deferred for rich, see the module docstring)."""
    from fashrec.cli import render

    return render
