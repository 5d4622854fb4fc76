"""`fashrec session list|show|undo|rm`, the `--session` turn shared by refine, and `fashrec eval dialogue`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashrec.cli.app import app, eval_app
from fashrec.cli.options import JsonOpt
from fashrec.cli.output import dumps, emit, handled, note, progress_bar, stdout

session_app = typer.Typer(help="Saved conversations: multi-turn refinement that survives restarts.",
                          no_args_is_help=True)
app.add_typer(session_app, name="session")

SessionOpt = typer.Option(None, "--session", help="Conversation name: IMAGE + TEXT (re)starts it, TEXT alone "
                          "refines its last turn (stored in $FASHREC_HOME/sessions.sqlite).")
PickOpt = typer.Option(None, "--pick", min=1, help="Continue from result N of the session's last turn "
                       "(\"more like the third one\").")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def _split_positionals(image: Optional[Path], text: Optional[str]) -> tuple[Optional[Path], Optional[str]]:
    """`refine --session s1 "shorter sleeves"`: a lone argument that is no image file is the request."""
    if image is not None and text is None and not image.exists() and image.suffix.lower() not in IMAGE_SUFFIXES:
        return None, str(image)
    return image, text


def session_turn(session: Optional[str], image: Optional[Path], text: Optional[str], *, pick: Optional[int],
                 index: Optional[Path], planner: str, llm: Optional[Path], k: int, strategy: str, max_steps: int,
                 profile) -> dict[str, Any]:
    """Run one turn of a named conversation from the command line; the JSON-ready outcome."""
    from fashrec.ammr.loop import RefineOptions
    from fashrec.cli.refine_cmd import build_refiner
    from fashrec.dialogue import Dialogue, SessionStore
    from fashrec.dialogue.store import check_name
    from fashrec.errors import UsageError

    if session is None:
        raise UsageError("--pick continues a conversation: add --session NAME")
    check_name(session)
    image, text = _split_positionals(image, text)
    if pick is not None and image is not None:
        raise UsageError("--pick and IMAGE both choose the anchor: give one of them")
    store = SessionStore()
    existing = store.get(session)
    if image is None and (existing is None or not existing.turns):
        raise UsageError(f"session '{session}' has not started: give an anchor image",
                         hint=f'fashrec refine IMAGE "TEXT" --session {session}')
    if index is None and image is None and existing and existing.index and Path(existing.index).exists():
        index = Path(existing.index)  # continue on the index the conversation started with
    refiner = build_refiner(index, planner, llm)
    dialogue = Dialogue(refiner, store, session, options=RefineOptions(k=k, strategy=strategy, max_steps=max_steps),
                        profile=profile, index_path=str(refiner.index.folder))
    if image is not None:
        if existing and existing.turns:
            note(f"[dim]session {session}: starting again ({len(existing.turns)} earlier turn(s) discarded)[/]")
        outcome = dialogue.start(image, text or "")
    elif pick is not None:
        outcome = dialogue.pick(pick, text or "")
    else:
        if not (text or "").strip():
            raise UsageError("say what to change, or --pick N to continue from a result")
        outcome = dialogue.say(text or "")
    return outcome.to_dict()


def turn_anchor_image(data: dict[str, Any]) -> Optional[Path]:
    image = (data.get("anchor") or {}).get("image")
    return Path(image) if image else None


def render_changes(session: dict[str, Any]) -> None:
    changes = session["changes"]
    shown = [("+ " if c["change"] == "added" else "- " if c["change"] == "removed" else "~ ")
             + (f"{c['previous']} -> {c['constraint']}" if c.get("previous") else c["constraint"]) for c in changes]
    stdout.print("[bold]Changed:[/] " + (", ".join(shown) if shown else "[dim]no change to the constraints[/]"),
                 highlight=False)
    stdout.print("[bold]Constraints:[/] " + (", ".join(session["constraints"]) or "[dim](none)[/]"),
                 highlight=False)


def render_turn(data: dict[str, Any], *, explain: bool) -> None:
    from fashrec.cli.refine_cmd import render_refine

    s = data["session"]
    anchor = s["anchor"]
    source = anchor["value"] if anchor["kind"] == "image" else f"product {anchor['value']}"
    text = f' "{data["query"]["text"]}"' if data["query"].get("text") else ""
    stdout.print(f"[bold cyan]Session {s['name']} · turn {s['turn']}[/] ({s['action']}){text}  "
                 f"[dim]anchor: {source}[/]", highlight=False)
    render_changes(s)
    render_refine(data, explain=explain)


# --- session list / show / undo / rm -------------------------------------------------------------

def _existing_store(name: str):
    from fashrec.dialogue import SessionStore
    from fashrec.errors import SessionError

    store = SessionStore.if_exists()
    if store is None:
        raise SessionError(f"no session named '{name}' (no sessions saved yet)",
                           hint=f'start one: fashrec refine IMAGE "TEXT" --session {name}')
    return store


@session_app.command("list")
def session_list(json_mode: bool = JsonOpt) -> None:
    """All saved conversations, most recently used first."""
    from fashrec.dialogue import SessionStore

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
                table.add_row(s["name"], str(s["turns"]), s["updated"], s["last_text"] or "",
                              ", ".join(s["constraints"]))
            stdout.print(table)
        emit({"sessions": sessions}, json_mode=json_mode, render=render)


@session_app.command("show")
def session_show(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Every turn of a conversation: request, anchor, what changed, constraints, results."""
    with handled(json_mode):
        with _existing_store(name) as store:
            data = store.load(name).to_dict()

        def render() -> None:
            stdout.print(f"[bold]{data['name']}[/] · {len(data['turns'])} turn(s) · index {data['index'] or '?'}",
                         highlight=False)
            for t in data["turns"]:
                anchor = t["anchor"]["value"] if t["anchor"]["kind"] == "image" else f"product {t['anchor']['value']}"
                stdout.print(f"[bold cyan]{t['turn']}.[/] ({t['action']}) \"{t['text']}\"  [dim]{anchor} · "
                             f"{t['time']}[/]", highlight=False)
                render_changes(t)
                stdout.print(f"   results: {' '.join(t['results'][:10]) or '(none)'}  [dim]{t['stop_reason']}[/]",
                             highlight=False)
        emit(data, json_mode=json_mode, render=render)


@session_app.command("undo")
def session_undo(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Forget the last turn: the conversation goes back to the turn before."""
    with handled(json_mode):
        with _existing_store(name) as store:
            removed = store.pop_turn(name)
            left = store.load(name)
        data = {"session": name, "undone": removed.to_dict() if removed else None, "turns": len(left.turns),
                "constraints": left.summary()["constraints"]}
        emit(data, json_mode=json_mode, render=lambda: stdout.print(
            f"Undid turn {removed.number} of {name}; {len(left.turns)} turn(s) left." if removed
            else f"[dim]{name} has no turns to undo.[/]"))


@session_app.command("rm")
def session_rm(name: str = typer.Argument(..., help="Session name."), json_mode: bool = JsonOpt) -> None:
    """Delete a conversation and all its turns."""
    with handled(json_mode):
        with _existing_store(name) as store:
            store.load(name)  # a clear error for an unknown name
            store.remove(name)
        emit({"removed": name}, json_mode=json_mode, render=lambda: stdout.print(f"Removed session {name}."))


# --- eval dialogue -------------------------------------------------------------------------------

@eval_app.command("dialogue")
def eval_dialogue(
    catalog: Path = typer.Argument(..., help="Catalog JSONL; its evaluation slice gives targets and anchors."),
    n: int = typer.Option(50, "--n", min=1, help="Number of simulated shoppers."),
    max_turns: int = typer.Option(5, "--max-turns", min=1, max=20, help="Turns before a shopper gives up."),
    seed: int = typer.Option(0, "--seed"),
    strategies: str = typer.Option("ammr,fusion", "--strategies",
                                   help="Comma-separated: ammr (multi-turn session), ammr-stateless, fusion."),
    planner: str = typer.Option("hybrid", "--planner"),
    llm: Optional[Path] = typer.Option(None, "--llm"),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder for the evaluation index."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Where the evaluation index is kept."),
    traces: Optional[Path] = typer.Option(None, "--traces", help="Also write every conversation as JSONL."),
    json_mode: bool = JsonOpt,
) -> None:
    """Success within 1/3/5 turns and mean turns for a simulated shopper, AMMR sessions vs single-shot."""
    from fashrec.evaluation.dialogue import evaluate_dialogue

    with handled(json_mode):
        with progress_bar("Dialogues", n, enabled=not json_mode) as advance:
            report = evaluate_dialogue(catalog, n=n, max_turns=max_turns, seed=seed,
                                       strategies=tuple(s.strip() for s in strategies.split(",") if s.strip()),
                                       planner=planner, llm_path=str(llm) if llm else None, workdir=workdir,
                                       model=model, progress=advance)
        if traces:
            traces.write_text("".join(dumps(t, indent=None) + "\n" for t in report.traces))
            note(f"traces: {traces}")

        def render() -> None:
            data = report.to_dict()
            stdout.print(f"[bold]{report.dialogues}[/] simulated shoppers, up to {report.max_turns} turns, over "
                         f"{report.indexed} indexed products; planner {report.planner}", highlight=False)
            stdout.print(f"[dim]success = {data['success']}[/]", highlight=False)
            marks = list(data["strategies"][0]["success_at"]) if data["strategies"] else []
            table = Table("strategy", *[f"≤{m} turns" for m in marks], "exact@10", "mean turns", "capped",
                          "by #differences", "p50 ms/turn", header_style="bold")
            for s in data["strategies"]:
                mean = f"{s['mean_turns']:.2f}" if s["mean_turns"] is not None else "-"
                table.add_row(s["strategy"], *[f"{s['success_at'][m]:.3f}" for m in marks],
                              f"{s['exact_target_hit']:.3f}", mean, f"{s['mean_turns_capped']:.2f}",
                              " ".join(f"{d}:{v:.2f}" for d, v in s["by_differences"].items()),
                              f"{s['turn_latency_p50_ms']:.0f}")
            stdout.print(table)
            for example in data["examples"][:2]:
                said = " / ".join(f'"{t["text"]}"' for t in example["turns"])
                ending = f"success at turn {example['success_turn']}" if example["success_turn"] else "not reached"
                stdout.print(f"[dim]{example['strategy']}: anchor {example['anchor']} -> target {example['target']}: "
                             f"{said} -> {ending}[/]", highlight=False)
        emit(report, json_mode=json_mode, render=render)
