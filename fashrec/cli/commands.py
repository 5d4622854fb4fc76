"""CLI layer: the whole command line. Importing a command module registers its commands on ``app``, in
the order --help lists them."""

# isort: skip_file
from __future__ import annotations

from fashrec.cli import index_cmd, search_cmd, refine_cmd, chat_cmd, session_cmd, profile_cmd  # noqa: F401
from fashrec.cli import plan_cmd, train_cmd, eval_cmd, outfit_cmd, serve_cmd  # noqa: F401
from fashrec.cli.app import app

__all__ = ["app"]
