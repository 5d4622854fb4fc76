"""CLI layer: the whole command line. Importing a command module registers its commands on ``app``, in
the order --help lists them."""

# isort: skip_file
from __future__ import annotations

from fashrec.cli import index_cmd, search_cmd, refine_cmd, chat_cmd, session_cmd, profile_cmd  # noqa: F401
from fashrec.cli import plan_cmd, train_cmd, eval_cmd, outfit_cmd, serve_cmd  # noqa: F401
from fashrec.cli.app import app
from fashrec.cli.output import literal, note
from fashrec.service.runtime import set_notifier

# what loading remarks (which encoder runtime, a stale export) look like at the terminal
set_notifier(lambda message, warning=False: note(f"[yellow]warning:[/] {literal(message)}" if warning
                                                 else f"[dim]{literal(message)}[/]"))

__all__ = ["app"]
