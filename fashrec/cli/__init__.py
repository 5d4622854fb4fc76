"""fashrec's command line: thin wrappers that parse options, call the library and render results.

Each command group lives in its own module and attaches itself to ``app`` when imported below.
"""

from __future__ import annotations

from .app import app

# Importing a command module registers its commands on ``app`` (order = order in --help).
from . import index_cmd as _index_cmd  # noqa: E402,F401
from . import search_cmd as _search_cmd  # noqa: E402,F401
from . import refine_cmd as _refine_cmd  # noqa: E402,F401
from . import chat_cmd as _chat_cmd  # noqa: E402,F401
from . import session_cmd as _session_cmd  # noqa: E402,F401
from . import profile_cmd as _profile_cmd  # noqa: E402,F401
from . import plan_cmd as _plan_cmd  # noqa: E402,F401
from . import train_cmd as _train_cmd  # noqa: E402,F401
from . import eval_cmd as _eval_cmd  # noqa: E402,F401
from . import outfit_cmd as _outfit_cmd  # noqa: E402,F401


def main() -> None:
    app()
