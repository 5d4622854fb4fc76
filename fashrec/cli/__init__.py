"""CLI layer: fashrec's command line, thin wrappers that parse options, call the library and render results.

The only layer that imports typer and rich. ``main`` sets the thread policy for the command about to run
before anything imports numpy, then imports only the module of that command: `fashrec search` never pays
for the training, evaluation or chat stacks. Help and unknown names load every command
(:mod:`fashrec.cli.commands`), so typer can list them all.
"""

from __future__ import annotations

import importlib
import sys

from fashrec import settings

# The module that registers each top-level command (tests/cli/test_startup.py keeps this complete).
COMMAND_MODULES = {
    "index": "index_cmd", "info": "index_cmd", "search": "search_cmd", "similar": "search_cmd",
    "refine": "refine_cmd", "chat": "chat_cmd", "session": "session_cmd", "profile": "profile_cmd",
    "plan": "plan_cmd", "train": "train_cmd", "eval": "eval_cmd", "outfit": "outfit_cmd",
    "serve": "serve_cmd",
}


def main() -> None:
    settings.apply_command_threads(sys.argv)
    # deferred: the command modules import numpy, which reads its thread count once, on import
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    module = COMMAND_MODULES.get(name)
    importlib.import_module(f"fashrec.cli.{module}" if module else "fashrec.cli.commands")
    from fashrec.cli.app import app
    from fashrec.cli.output import run_command_line

    run_command_line(app, sys.argv[1:])
