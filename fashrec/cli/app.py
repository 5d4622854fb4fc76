"""CLI layer: the typer application object. Command modules attach themselves when imported (all of them in
``fashrec.cli.commands``; only the one being run in ``fashrec.cli.main``).

:class:`App` gives every command the same help conventions: paragraphs reflowed (typer keeps the line
breaks of a docstring's later paragraphs), an ``Examples:`` paragraph kept line by line, and arguments in
the usage line written as ``IMAGE`` / ``[TEXT]`` rather than ``{image}`` / ``[text]``.
"""

from __future__ import annotations

from typing import Any, Optional

import typer
from typer.core import TyperCommand, TyperGroup

import fashrec

PROG = "fashrec"


def reflow(text: Optional[str]) -> Optional[str]:
    """Join the lines of each paragraph; a paragraph that starts with ``Examples:`` keeps its lines."""
    if not text:
        return text
    paragraphs = [p.strip("\n") for p in text.split("\n\n")]
    out = []
    for p in paragraphs:
        lines = [line.strip() for line in p.splitlines()]
        if lines and lines[0].lower().startswith("example"):
            out.append("\n".join([lines[0]] + [f"  {line}" for line in lines[1:]]))
        else:
            out.append(" ".join(line for line in lines if line))
    return "\n\n".join(out)


class _PlainHelpFlag:
    """``--help`` is a flag: no ``<bool>`` after it."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option


class Group(_PlainHelpFlag, TyperGroup):
    pass


# What a value looks like in help when an option names no metavar of its own.
METAVARS = {"int": "N", "float": "NUMBER", "Path": "PATH", "str": "TEXT", "list[str]": "TEXT"}


class Command(_PlainHelpFlag, TyperCommand):
    """A command whose help reads like a well-kept CLI's: reflowed paragraphs, ``--flag`` without a type,
    ``--where ATTR=VALUE`` (each option's metavar, or one from its type: N, PATH, TEXT), ``IMAGE``."""

    def __init__(self, *args: Any, help: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(*args, help=reflow(help), **kwargs)
        for param in self.params:
            if param.param_type_name == "argument":
                param.metavar = param.metavar or (param.name or "").upper()
                # Its name already says what it is (IMAGE, CATALOG): no "<path>" / "<list[str]>" after it.
                param.display_type_rich = lambda ctx: None
            elif param.metavar is None and getattr(param, "is_flag", False):
                param.metavar = ""
            elif param.metavar is None:
                bare = getattr(param, "bare_type", None)   # typer >= 0.29 names the annotation's type
                param.metavar = METAVARS.get(bare() if bare else "", "VALUE")

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                pieces.extend(param.get_usage_pieces(ctx))
                continue
            name = param.metavar or (param.name or "").upper()
            name += "..." if param.nargs != 1 else ""
            pieces.append(name if param.required else f"[{name}]")
        return pieces


class App(typer.Typer):
    """A typer app whose commands use :class:`Command` (and whose groups :class:`Group`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(*args, **kwargs)

    def command(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {fashrec.__version__}")
        raise typer.Exit()


app = App(
    name=PROG,
    help="Local-first fashion recommender: index a catalog, search it, refine an anchor image with words.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, metavar="",
                                       help="Print fashrec's version and exit.")) -> None:
    """Local-first fashion recommender: index a catalog, search it, refine an anchor image with words."""
    # A callback keeps `fashrec` a group when only the one command being run is registered
    # (fashrec.cli.main imports just its module); without one, typer would make that command the root.


eval_app = App(help="Measure fashrec on a catalog (planner, refinement, dialogue, outfits).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

