"""CLI layer: `fashrec profile set|show|clear`, the personal profile every recommendation command applies."""

from __future__ import annotations

from typing import Any, List

import typer

from fashrec.cli.app import App, app
from fashrec.cli.options import JsonOpt
from fashrec.cli.output import emit, handled, literal, stdout
from fashrec.profile import (
    clear_profile,
    load_profile,
    parse_assignments,
    profile_path,
    save_profile,
)

profile_app = App(help="Your standing wishes (size, budget, avoid, prefer, brands), applied to every "
                               "recommendation.", no_args_is_help=True)
app.add_typer(profile_app, name="profile")

def _render(data: dict[str, Any], path: str) -> None:
    shown = {k: v for k, v in data.items() if k != "version" and v not in (None, [])}
    if not shown:
        stdout.print(f"[dim]No profile set ({literal(path)}).[/]")
        return
    for key, value in shown.items():
        stdout.print(f"[bold]{key}[/]: {literal(', '.join(value) if isinstance(value, list) else value)}",
                     highlight=False)
    stdout.print("[dim]hard limits: budget, size · soft preferences: avoid, prefer, brands[/]")


@profile_app.command("set")
def profile_set(
    assignments: List[str] = typer.Argument(..., metavar="KEY=VALUE",
                                            help="key=value pairs: size=M budget=60 avoid=black,polyester "
                                            "prefer=linen brands=Acme,Zed (an empty value clears the key)."),
    json_mode: bool = JsonOpt,
) -> None:
    """Set (or change) profile rules; keys not named keep their value.

    Examples:
    fashrec profile set size=M budget=60 avoid=black prefer=linen brands=Acme,Zed
    fashrec profile set avoid=
    """

    with handled(json_mode):
        profile = load_profile().with_values(parse_assignments(assignments))
        save_profile(profile)
        data = profile.to_dict()
        emit(data, json_mode=json_mode, render=lambda: _render(data, str(profile_path())))


@profile_app.command("show")
def profile_show(json_mode: bool = JsonOpt) -> None:
    """Show the profile and where it is stored.

    Examples:
    fashrec profile show --json
    """

    with handled(json_mode):
        data = load_profile().to_dict()
        emit(data, json_mode=json_mode, render=lambda: _render(data, str(profile_path())))


@profile_app.command("clear")
def profile_clear(json_mode: bool = JsonOpt) -> None:
    """Delete the profile (recommendations are no longer personalised).

    Examples:
    fashrec profile clear
    """

    with handled(json_mode):
        existed = clear_profile()
        emit({"cleared": existed}, json_mode=json_mode,
             render=lambda: stdout.print("Profile cleared." if existed else "[dim]No profile was set.[/]"))
