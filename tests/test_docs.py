"""The README documents every command, and its two set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from fashrec.cli.commands import app

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def command_names() -> list[str]:
    click_app = typer.main.get_command(app)
    names = []
    for name, cmd in click_app.commands.items():
        sub = getattr(cmd, "commands", None)
        if sub:
            names += [f"{name} {s}" for s in sub]
        else:
            names.append(name)
    return names


def test_every_command_is_documented():
    missing = [n for n in command_names() if f"fashrec {n}" not in README]
    assert not missing, f"README.md does not document: {missing}"


def test_ci_runs_the_readme_test_command():
    assert "make test" in README and "make demo" in README
    assert re.search(r"^make test$", (REPO / ".ci" / "run").read_text(), re.M)


def test_exit_codes_table_matches_errors():
    from fashrec import errors

    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.FashrecError) and cls is not errors.FashrecError:
            assert f"| {cls.exit_code} |" in README, f"exit code {cls.exit_code} ({cls.__name__}) undocumented"
