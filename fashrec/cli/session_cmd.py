"""CLI layer: `fashrec session list|show|undo|rm`, and the `--session` turn shared by refine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashrec.ammr import RefineOptions
from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import App, app
from fashrec.cli.options import JsonOpt, split_positionals
from fashrec.cli.output import emit, handled, literal, note, stdout
from fashrec.cli.render import render_session
from fashrec.dialogue import SessionStore
from fashrec.dialogue.store import check_name
from fashrec.errors import UsageError
from fashrec.profile import Profile
from fashrec.service import handlers
from fashrec.service.handlers import existing_store, session_answer
from fashrec.service.requests import RefineRequest
from fashrec.service.runtime import build_refiner

session_app = App(help="Saved conversations: multi-turn refinement that survives restarts.",
                          no_args_is_help=True)
app.add_typer(session_app, name="session")

def session_turn(session: Optional[str], image: Optional[Path], text: Optional[str], *, pick: Optional[int],
                 index: Optional[Path], planner: str, llm: Optional[Path], k: int, strategy: str, max_steps: int,
                 profile: Profile | None, runtime: Optional[str] = None,
                 ask_below: Optional[float] = None, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one turn of a named conversation from the command line; the JSON-ready outcome."""

    if session is None:
        raise UsageError("--pick continues a conversation: add --session NAME")
    check_name(session)
    image, text = split_positionals(image, text)
    fields = {key: v for key, v in (fields or {}).items() if v}     # id, anchor corrections, strict
    if sum(x is not None for x in (pick, image, fields.get("id"))) > 1:
        raise UsageError("--pick, --id and IMAGE each choose the anchor: give one of them")
    store = SessionStore()
    existing = store.get(session)
    if image is None and "id" not in fields and (existing is None or not existing.turns):
        raise UsageError(f"session '{session}' has not started: give an anchor image",
                         hint=f'fashrec refine IMAGE "TEXT" --session {session}')
    if index is None and image is None and existing and existing.index and Path(existing.index).exists():
        index = Path(existing.index)  # continue on the index the conversation started with
    refiner = build_refiner(index, planner, llm, runtime)
    if image is not None and existing and existing.turns:
        note(f"[dim]session {session}: starting again ({len(existing.turns)} earlier turn(s) discarded)[/]")
    if image is None and pick is None and not fields and not (text or "").strip():
        raise UsageError("say what to change, or --pick N to continue from a result")
    request = RefineRequest(text=text or "", session=session, pick=pick, **fields)
    options = RefineOptions(k=k, strategy=strategy, max_steps=max_steps, ask_below=ask_below,
                            alternatives=not fields.get("strict"))
    return session_answer(refiner, request, options, profile, image=image, store=store)


# --- session list / show / undo / rm -------------------------------------------------------------

@session_app.command("list")
def session_list(json_mode: bool = JsonOpt) -> None:
    """All saved conversations, most recently used first.

    Examples:
    fashrec session list
    fashrec session list --json
    """
    with handled(json_mode):
        store = SessionStore.if_exists()
        sessions = []
        if store is not None:
            with store:
                sessions = [s.summary() for s in store.list()]

        def render() -> None:
            if not sessions:
                stdout.print("[dim]No sessions yet.[/]")
                return
            table = Table("name", "turns", "updated", "last request", "constraints", header_style="bold")
            for s in sessions:
                table.add_row(s["name"], str(s["turns"]), s["updated"], literal(s["last_text"] or ""),
                              literal(", ".join(s["constraints"])))
            stdout.print(table)
        emit({"sessions": sessions}, json_mode=json_mode, render=render)


@session_app.command("show")
def session_show(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Every turn of a conversation: request, anchor, what changed, constraints, results.

    Examples:
    fashrec session show s1
    """
    with handled(json_mode):
        data = handlers.session_show(name)

        emit(data, json_mode=json_mode, render=lambda: render_session(data))


@session_app.command("undo")
def session_undo(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Forget the last turn: the conversation goes back to the turn before.

    Examples:
    fashrec session undo s1
    """
    with handled(json_mode):
        data = handlers.session_undo(name)
        emit(data, json_mode=json_mode, render=lambda: stdout.print(
            f"Undid turn {data['undone']['turn']} of {name}; {data['turns']} turn(s) left." if data["undone"]
            else f"[dim]{name} has no turns to undo.[/]"))


@session_app.command("rm")
def session_rm(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Delete a conversation and all its turns.

    Examples:
    fashrec session rm s1
    """
    with handled(json_mode):
        with existing_store(name) as store:
            store.load(name)  # a clear error for an unknown name
            store.remove(name)
        emit({"removed": name}, json_mode=json_mode, render=lambda: stdout.print(f"Removed session {name}."))
