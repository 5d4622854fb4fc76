"""CLI layer: `fashrec chat [IMAGE]`, a conversation at a prompt, models loaded once, every turn saved as a session.

Reads one request per line. At a terminal it prompts; otherwise it reads stdin line by line, so it can be
scripted (with --json, one JSON object per line of input that produced output, errors included, each
tagged with its input line number; the exit code is 1 when any line failed).

A short answer numbers its ways forward; typing the number takes one (its constraints are released and
the request answered again). "it's a dress" or ``anchor category=dresses`` corrects what was read from
the anchor and answers again; the correction stays with that anchor in the saved session.
"""

from __future__ import annotations

import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, List, Optional

import typer
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from fashrec.ammr import Option, RefineOptions, Shortfall
from fashrec.ammr.corrections import CHAT_EXAMPLE, parse_overrides
from fashrec.ammr.ways import numbers_text, offered_option
from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.options import (
    AnchorOpt,
    AskBelowOpt,
    ExplainOpt,
    IdOpt,
    IndexOpt,
    KOpt,
    LlmOpt,
    MaxStepsOpt,
    NoProfileOpt,
    PlannerOpt,
    RuntimeOpt,
    StrictOpt,
)
from fashrec.cli.output import dumps, handled, literal, note, report_error, stdout
from fashrec.cli.render import indented, render_constraints, render_turn
from fashrec.cli.sheet import write_sheet
from fashrec.dialogue import Dialogue, SessionStore
from fashrec.dialogue.records import AnchorRef
from fashrec.dialogue.store import check_name
from fashrec.errors import FashrecError, UsageError
from fashrec.service.runtime import build_refiner, load_profile_unless
from fashrec.settings import home_dir

COMMANDS = {
    "N": "take way forward N of a short answer (its constraints are released, the request answered again)",
    "anchor ATTR=VALUE...": "correct what was read from the anchor and answer again (or say \"it's a dress\")",
    "more": "show the next results of the last turn (same constraints)",
    "pick N [TEXT]": "continue from result N of the last turn (constraints stay)",
    "undo": "forget the last turn",
    "plan": "show the accumulated constraints",
    "sheet FILE.png": "write a contact sheet PNG of the last results",
    "image PATH [TEXT]": "continue from another picture (constraints stay)",
    "new PATH [TEXT]": "start over from a picture (constraints cleared)",
    "help": "this list",
    "quit": "leave (the session is saved; continue it with --session)",
}
ALIASES = {"exit": "quit", "q": "quit", "bye": "quit", "next": "more", "?": "help"}
BARE = {"more", "undo", "plan", "help", "quit"}       # commands that are the whole line
HISTORY_FILE = "chat-history"


def command_of(line: str) -> tuple[str, str] | None:
    """The chat command a line gives, as (name, rest), or None when the line is a request.

    "/undo" and "undo" are the same. A plain word counts as a command only where it cannot be a
    request: alone on the line ("more", "undo"), "pick" before a number, "sheet" before a .png file
    name, "image"/"new" before a file that exists. "more formal" or "new colours" stay requests. A number
    alone takes that way forward of a short answer ("relax"); "anchor" before attribute=value pairs
    corrects the anchor.
    """
    if line.startswith("/"):
        name, _, rest = line[1:].partition(" ")
        name = name.lower()
        return ALIASES.get(name, name), rest.strip()
    word, _, rest = line.partition(" ")
    word, rest = ALIASES.get(word.lower(), word.lower()), rest.strip()
    if not rest and word in BARE:
        return word, ""
    if word == "pick" and rest.split(" ")[0].isdigit():
        return word, rest
    if word == "sheet" and rest.lower().endswith(".png") and " " not in rest:
        return word, rest
    if word.isdigit() and not rest:
        return "relax", word
    if word == "anchor" and rest and all("=" in part for part in rest.split()):
        return word, rest
    if word in ("image", "new") and rest:
        try:
            first = shlex.split(rest)[0]
        except (ValueError, IndexError):
            return None
        return (word, rest) if Path(first).expanduser().is_file() else None
    return None


class Chat:
    """The state of one chat: the dialogue, a pending anchor image and the last results shown."""

    def __init__(self, dialogue, *, image: Optional[Path], explain: bool, json_mode: bool,
                 product_id: Optional[str] = None, overrides: Optional[dict[str, str]] = None) -> None:
        self.dialogue = dialogue
        self.pending_image = image
        self.pending_product = product_id     # chat --id SKU: a catalog product as the first anchor
        self.pending_overrides = dict(overrides or {})   # chat --anchor: corrections of the first anchor
        self.explain = explain
        self.json_mode = json_mode
        self.last: Optional[dict[str, Any]] = None
        self.last_shortfall: Optional[Shortfall] = None   # the last answer's, whose numbers a line may take

    @property
    def pending(self) -> bool:
        return self.pending_image is not None or self.pending_product is not None

    def begin(self) -> dict[str, Any]:
        """Answer the pending anchor at once (what was read from it and the closest products)."""
        return self._turn("start", self._start(""))

    def correct_at_start(self) -> dict[str, Any]:
        """``chat --session S --anchor ATTR=VALUE``: correct the anchor of the session's last turn."""
        overrides, self.pending_overrides = self.pending_overrides, {}
        return self._turn("correct", self.dialogue.correct(overrides))

    def handle(self, line: str) -> Optional[dict[str, Any]]:
        """Answer one line; returns what to print (None: nothing), raises FashrecError on a bad request."""
        command = command_of(line)
        if command is None:
            fix = self._pending_correction(line)
            if fix:   # "it's a dress" beside the first image: the anchor starts corrected, answered as it is
                self.pending_overrides.update(fix)
                return self._turn("correct", self._start(""))
            return self._turn("refine", self._say(line))
        name, rest = command
        if name == "quit":
            return {"command": "quit"}
        if name == "help":
            return {"command": "help", "commands": COMMANDS}
        if name == "relax":
            if not rest.isdigit():
                raise UsageError("take a way forward by its number: 1")
            return self._turn("relax", self.dialogue.relax(self._option(int(rest)).relax))
        if name == "anchor":
            return self._correct(rest)
        if name == "more":
            return self._turn("more", self.dialogue.more())
        if name == "pick":
            number, _, text = rest.partition(" ")
            if not number.isdigit():
                raise UsageError("pick needs a result number: pick 3")
            return self._turn("pick", self.dialogue.pick(int(number), text.strip()))
        if name in ("image", "new"):
            path, text = _path_and_text(rest, name)
            if name == "new":
                return self._turn("new", self.dialogue.start(path, text))
            return self._turn("image", self.dialogue.new_image(path, text))
        if name == "undo":
            return self._undo()
        if name == "plan":
            session = self.dialogue.session
            return {"command": "plan", "session": session.name, "turns": len(session.turns),
                    "plan": session.plan.to_dict(), "constraints": session.summary()["constraints"]}
        if name == "sheet":
            return self._sheet(rest)
        raise UsageError(f"unknown command /{name} (try help)")

    def _undo(self) -> dict[str, Any]:
        removed = self.dialogue.undo()
        session = self.dialogue.session
        self.last, self.last_shortfall = None, None
        return {"command": "undo", "undone": removed.number if removed else None, "turns": len(session.turns),
                "constraints": session.summary()["constraints"]}

    def _sheet(self, rest: str) -> dict[str, Any]:
        if not rest:
            raise UsageError("sheet needs a file name: sheet looks.png")
        if not self.last:
            raise UsageError("no results in this chat yet")
        anchor = (self.last.get("anchor") or {}).get("image")
        path = write_sheet(Path(rest), self.last, anchor=Path(anchor) if anchor else None,
                           title=f"{self.dialogue.name}, turn {self.last['session']['turn']}")
        return {"command": "sheet", "path": str(path)}

    def _start(self, text: str):
        """The pending anchor (an image, or a catalog product) starts the conversation, corrected."""
        image, product, overrides = self.pending_image, self.pending_product, self.pending_overrides
        self.pending_image = self.pending_product = None
        self.pending_overrides = {}
        if image is not None:
            return self.dialogue.start(image, text, overrides)
        return self.dialogue.start_with_product(product, text, overrides)

    def _pending_correction(self, text: str) -> dict[str, str]:
        """What "it's a dress" says the pending anchor is ({} when nothing is pending, or the line is a
        request): piped to chat IMAGE, the first line meets an anchor no turn has searched from yet."""
        if not self.pending:
            return {}
        ref = (self.dialogue.image_ref(self.pending_image) if self.pending_image is not None
               else AnchorRef("product", self.pending_product))
        return self.dialogue.said_correction(text, ref.corrected(self.pending_overrides))

    def _say(self, text: str):
        if self.pending:
            return self._start(text)
        return self.dialogue.say(text)

    def _correct(self, rest: str) -> dict[str, Any]:
        # the shopper typed /anchor (or anchor): refused in those words, never as --anchor
        overrides = parse_overrides(rest.split(), given_as="/anchor", example=CHAT_EXAMPLE)
        if not overrides:
            raise UsageError("/anchor needs attribute=value pairs", hint=f"e.g. {CHAT_EXAMPLE}")
        if self.pending:   # before the first turn: the anchor starts corrected
            self.pending_overrides.update(overrides)
            return self._turn("start", self._start(""))
        return self._turn("correct", self.dialogue.correct(overrides))

    def _option(self, number: int) -> Option:
        """Way forward ``number`` of the last answer's shortfall, when it finds something (as refine's and
        search's --relax N choose it: :func:`fashrec.ammr.ways.offered_option`)."""
        if self.last is None:
            raise UsageError(f"there is no way forward {number} (no answer in this chat yet)")
        try:
            return offered_option(self.last_shortfall, number, answer="the last answer")
        except UsageError as err:
            if err.hint is None and self.last.get("results"):
                err.hint = "pick N continues from result N"
            raise

    def _turn(self, command: str, outcome) -> dict[str, Any]:
        self.last, self.last_shortfall = outcome.to_dict(), outcome.result.shortfall
        if command == "refine" and outcome.turn.action == "correct":   # "it's a dress"
            command = "correct"
        return {"command": command, **self.last}

    def render(self, data: dict[str, Any]) -> None:
        command = data["command"]
        if "results" in data:
            render_turn(data, explain=self.explain)
            options = [o for o in (data.get("shortfall") or {}).get("options") or [] if o.get("useful", o["count"])]
            if options:
                stdout.print(indented(Text(f"type a number ({numbers_text([o['number'] for o in options])}) to "
                                           "take a way forward", style="dim")))
        elif command == "help":
            table = Table.grid(padding=(0, 2))
            table.add_column(style="bold", no_wrap=True)
            table.add_column()
            for usage, meaning in COMMANDS.items():
                table.add_row(usage, meaning)
            stdout.print(Padding(table, (0, 0, 0, 2)))
            stdout.print("  (each also works with a leading /: /undo, /pick 2)")
            stdout.print("  anything else is a request that refines the last turn")
        elif command == "undo":
            stdout.print(f"Undid turn {data['undone']}; {data['turns']} turn(s) left." if data["undone"]
                         else "[dim]Nothing to undo.[/]")
            render_constraints(data["constraints"])
        elif command == "plan":
            render_constraints(data["constraints"])
        elif command == "sheet":
            stdout.print(f"sheet: {literal(data['path'])}")


def _path_and_text(rest: str, command: str) -> tuple[Path, str]:
    try:
        parts = shlex.split(rest)
    except ValueError as exc:
        raise UsageError(f"{command}: {exc}") from None
    if not parts:
        raise UsageError(f"{command} needs an image path: {command} photo.jpg")
    return Path(parts[0]).expanduser(), " ".join(parts[1:])


def _lines(interactive: bool) -> Iterator[str | UsageError]:
    """Lines of input: with line editing and history at a terminal, plain lines from a pipe, each decoded
    on its own there: a line that is not UTF-8 becomes an error for that line (it used to end the chat
    with a traceback, or be echoed back as raw bytes)."""
    if not interactive:
        for raw in sys.stdin.buffer:
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield UsageError(f"this line is not valid UTF-8 (byte {exc.start}): ignored")
        return
    # deferred: prompt_toolkit is only needed at a terminal, and costs ~0.1 s to import
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.output import create_output

    history = home_dir() / HISTORY_FILE
    history.parent.mkdir(parents=True, exist_ok=True)
    # Prompts go to stderr, like every other remark: stdout carries only answers.
    session: PromptSession = PromptSession(history=FileHistory(str(history)), output=create_output(sys.stderr))
    while True:
        try:
            yield session.prompt("you> ")
        except KeyboardInterrupt:   # Ctrl-C clears the line, as in a shell; Ctrl-D leaves
            continue
        except EOFError:
            return


def converse(chat_state: Chat, lines: Iterator[str | UsageError], *, json_mode: bool) -> int:
    """Answer line after line until /quit or the end of input; returns how many lines failed."""
    failures = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.strip() if isinstance(raw, str) else raw
        if not line or (isinstance(line, str) and line.startswith("#")):
            continue
        try:
            if isinstance(line, UsageError):
                raise line
            data = chat_state.handle(line)
        except FashrecError as err:
            failures += 1
            if json_mode:
                sys.stdout.write(dumps({"line": number, **err.to_dict()}, indent=None) + "\n")
                sys.stdout.flush()
            else:
                report_error(err, json_mode=False)
            continue
        if data is None:
            continue
        if data["command"] == "quit":
            break
        emit_line(chat_state, number, data, json_mode=json_mode)
    return failures


def emit_line(chat_state: Chat, number: int, data: dict[str, Any], *, json_mode: bool) -> None:
    """One answer: a JSON line tagged with the input line it answers, or rendered for a person."""
    if json_mode:
        sys.stdout.write(dumps({"line": number, **data}, indent=None) + "\n")
        sys.stdout.flush()
    else:
        chat_state.render(data)


@app.command()
def chat(
    image: Optional[Path] = typer.Argument(None, help="Anchor image for the first request (optional when "
                                           "continuing a session)."),
    index: Optional[Path] = IndexOpt,
    product_id: Optional[str] = IdOpt,
    anchor: Optional[List[str]] = AnchorOpt,
    session: Optional[str] = typer.Option(None, "--session", metavar="NAME", help="Session to continue or create "
                                          "(default: a new one named chat-<time>)."),
    k: int = KOpt,
    planner: str = PlannerOpt,
    llm: Optional[Path] = LlmOpt,
    max_steps: int = MaxStepsOpt,
    ask_below: Optional[float] = AskBelowOpt,
    strict: bool = StrictOpt,
    explain: bool = ExplainOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    json_mode: bool = typer.Option(False, "--json", help="One JSON object per answered line on stdout."),
) -> None:
    """Refine step by step at a prompt: each line refines the last turn; "help" lists the commands.

    At a terminal, chat IMAGE (or --id SKU, a catalog product) answers at once (what was read from the
    photo and the closest products) and the prompt has line editing and history. From a pipe it reads
    one request per line, the first joining IMAGE; with --json it writes one JSON object per answered
    line. A short answer numbers its ways forward: type the number to take one. --anchor ATTR=VALUE, or
    "it's a dress" / "anchor category=dresses" at the prompt, corrects what was read from the anchor;
    the session keeps the correction (--anchor with --session alone corrects its last anchor at once).

    Examples:
    fashrec chat shirt.jpg
    fashrec chat dress.jpg --anchor category=dresses
    fashrec chat --id sku-1001
    fashrec chat --session s1
    printf 'in navy\\nunder 100\\nmore\\npick 2\\n' | fashrec chat shirt.jpg --json
    """

    with handled(json_mode):
        name = check_name(session or datetime.now().strftime("chat-%Y%m%d-%H%M%S"))
        profile = load_profile_unless(no_profile)
        store = SessionStore()
        existing = store.get(name)
        if index is None and image is None and existing and existing.index and Path(existing.index).exists():
            index = Path(existing.index)
        overrides = parse_overrides(anchor)
        if image is not None and product_id is not None:
            raise UsageError("give an anchor IMAGE or --id SKU, not both")
        resume_corrected = bool(overrides) and image is None and product_id is None
        if resume_corrected and not (existing and existing.turns):
            raise UsageError("--anchor corrects an anchor: give IMAGE or --id SKU, or continue a session that has "
                             "turns (--session NAME)")
        refiner = build_refiner(index, planner, llm, runtime)
        options = RefineOptions(k=k, max_steps=max_steps, ask_below=ask_below, alternatives=not strict)
        dialogue = Dialogue(refiner, store, name, options=options, profile=profile,
                            index_path=str(refiner.index.folder))
        chat_state = Chat(dialogue, image=image, explain=explain, json_mode=json_mode, product_id=product_id,
                          overrides=dialogue.checked(overrides))
        interactive = sys.stdin.isatty() and not json_mode
        if interactive:
            # a shopper's session runs many searches while they type: a large graph goes onto huge pages
            # in the background, as fashrec serve's does (index.huge_pages)
            refiner.index.collapse_onto_huge_pages(background=True)
            turns = len(existing.turns) if existing else 0
            note(f"[bold]fashrec chat[/] · session [cyan]{name}[/]" + (f" ({turns} earlier turns)" if turns else "")
                 + " · help for commands, quit to leave")
            if existing and existing.turns and image is None:
                note("constraints so far: " + (", ".join(existing.summary()["constraints"]) or "(none)"))
            if chat_state.pending:
                chat_state.render(chat_state.begin())
        if resume_corrected:   # answered before any line is read: "line" 0 is the command line
            emit_line(chat_state, 0, chat_state.correct_at_start(), json_mode=json_mode)
        failures = converse(chat_state, _lines(interactive), json_mode=json_mode)
        store.close()
        if failures and not interactive:
            raise typer.Exit(1)
