"""fashrec's command line: thin wrappers that parse options, call the library and render results.

Each command group lives in its own module and attaches itself to ``app`` when imported below.
"""

from __future__ import annotations

from fashrec.cli import chat_cmd as _chat_cmd  # noqa: E402,F401
from fashrec.cli import eval_cmd as _eval_cmd  # noqa: E402,F401

# Importing a command module registers its commands on ``app`` (order = order in --help).
from fashrec.cli import index_cmd as _index_cmd  # noqa: E402,F401
from fashrec.cli import outfit_cmd as _outfit_cmd  # noqa: E402,F401
from fashrec.cli import plan_cmd as _plan_cmd  # noqa: E402,F401
from fashrec.cli import profile_cmd as _profile_cmd  # noqa: E402,F401
from fashrec.cli import refine_cmd as _refine_cmd  # noqa: E402,F401
from fashrec.cli import search_cmd as _search_cmd  # noqa: E402,F401
from fashrec.cli import session_cmd as _session_cmd  # noqa: E402,F401
from fashrec.cli import train_cmd as _train_cmd  # noqa: E402,F401
from fashrec.cli.app import app

# Commands that answer one request at a time. Their numpy work is matrix-vector products, which one
# BLAS thread does faster than two fighting over a busy 2-core machine (measured: 1.6 vs 2.4 ms for
# 35k x 256); batch work (index, train, eval) keeps all cores. Must be set before numpy is imported.
INTERACTIVE_COMMANDS = {"search", "similar", "refine", "outfit", "chat", "plan", "info", "session", "profile"}


def main() -> None:
    import os
    import sys

    if len(sys.argv) > 1 and sys.argv[1] in INTERACTIVE_COMMANDS:
        threads = os.environ.get("FASHREC_THREADS", "1")
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, threads)
    app()
