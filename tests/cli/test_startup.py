"""Start-up cost: `fashrec CMD` imports only CMD's module (fashrec.cli.main), so the map from command to
module must stay complete, and a query on an exported encoder never imports torch or other commands'
stacks."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from fashrec.cli import COMMAND_MODULES
from fashrec.cli.commands import app


def registered() -> dict[str, str]:
    """Every top-level command and group name, with the module that registers it."""
    names = {(info.name or info.callback.__name__).replace("_", "-"): info.callback.__module__
             for info in app.registered_commands}
    for group in app.registered_groups:
        typer_app = group.typer_instance
        commands = typer_app.registered_commands
        names[group.name] = commands[0].callback.__module__ if commands else "fashrec.cli.app"
    return names


def test_every_command_maps_to_the_module_that_registers_it():
    for name, module in registered().items():
        assert name in COMMAND_MODULES, f"fashrec {name} is missing from fashrec.cli.COMMAND_MODULES"
        assert f"fashrec.cli.{COMMAND_MODULES[name]}" == module, name
    assert set(COMMAND_MODULES) == set(registered())


@pytest.mark.parametrize("command", ["similar", "search", "refine"])
def test_help_of_one_command_loads_only_its_module(command, fashrec_env):
    code = ("import sys; sys.argv = ['fashrec', %r, '--help']\n"
            "from fashrec.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('fashrec.cli.') and m.endswith('_cmd')))"
            % command)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=fashrec_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = set(eval(proc.stdout.strip().splitlines()[-1]))
    assert f"fashrec.cli.{COMMAND_MODULES[command]}" in loaded
    assert not loaded & {"fashrec.cli.train_cmd", "fashrec.cli.eval_cmd", "fashrec.cli.chat_cmd"}
    assert "Usage" in proc.stdout and re.search(rf"\b{command}\b", proc.stdout)


def test_the_command_list_loads_no_heavy_stack(fashrec_env):
    """`fashrec --help` imports every command module (typer lists them), but none of them imports torch,
    open_clip, onnxruntime, llama_cpp or the web server's stack at module level."""
    code = ("import sys; sys.argv = ['fashrec', '--help']\n"
            "from fashrec.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'open_clip', 'onnxruntime', 'llama_cpp', 'fastapi', 'starlette')"
            " if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=fashrec_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "serve" in proc.stdout and "refine" in proc.stdout
    assert eval(proc.stdout.strip().splitlines()[-1]) == []


# What a query answered here must never import: the web server's stack (pydantic comes with it, and
# with typer from 0.29 on, hence the pin in pyproject.toml), torch and its models, the LLM runtime, and
# the outfit stack (only `fashrec outfit` composes looks, and only it reads an occasion on its own), the
# dialogue stack (only a --session turn or chat stores one), the HTTP client (only --server) and rich (only
# what is drawn for a person: a table, a note, a progress bar; a --json answer is written with sys.stdout),
# and so neither fashrec's renderer; nor, on a local index (these tests' kind), the Lance store's module
# (only an index with a store opens it).
NOT_ON_THE_QUERY_PATH = {"pydantic", "pydantic_core", "fastapi", "starlette", "torch", "open_clip", "torchvision",
                         "llama_cpp", "fashrec.outfit", "fashrec.dialogue", "urllib.request", "http.client",
                         "rich", "fashrec.cli.render", "fashrec.index.lance_store", "fashrec.index.lance_where",
                         "fashrec.planner.occasions"}
OUTFIT_STACK = {"fashrec.outfit", "fashrec.planner.occasions"}


def imported(run) -> set[str]:
    """Every module a run imported, from its ``python -X importtime`` lines on stderr."""
    return {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}


def test_a_query_answered_here_imports_no_server_stack_torch_or_llm(fashrec, indexed, small_catalog, fashrec_env):
    fashrec_env["PYTHONPROFILEIMPORTTIME"] = "1"
    image = sorted((small_catalog.parent / "images").iterdir())[3]
    # refine with its default planner (hybrid: the LLM is not loaded for words the rules explain)
    for args in (("refine", image, "but in black"), ("search", "red dress"), ("similar", image),
                 ("refine", image, "in red", "--planner", "rules", "-k", "3", "--strict"), ("outfit", image)):
        run = fashrec(*args, "--index", indexed, "--json")
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.json()["outfits" if args[0] == "outfit" else "query"] is not None, args
        modules = imported(run)
        assert "onnxruntime" in modules, args   # it did answer on the fast path
        forbidden = NOT_ON_THE_QUERY_PATH - (OUTFIT_STACK if args[0] == "outfit" else set())
        assert not modules & forbidden, (args, sorted(modules & forbidden))
