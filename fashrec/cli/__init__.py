"""CLI layer: fashrec's command line, thin wrappers that parse options, call the library and render results.

The only layer that imports typer and rich. ``main`` sets the thread policy for the command about to run
before anything imports numpy, then loads the commands (:mod:`fashrec.cli.commands`).
"""

from __future__ import annotations

import sys

from fashrec import settings


def main() -> None:
    settings.apply_command_threads(sys.argv)
    # deferred: the command modules import numpy, which reads its thread count once, on import
    from fashrec.cli.commands import app

    app()
