"""CLI layer: the one renderer -- results, plans, anchors, sessions and outfits as a person reads them.

Everything here draws from the JSON documents the commands print with ``--json`` (never from library
objects), so what a person sees and what a script parses cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from fashrec.cli.output import literal, stdout, visible
from fashrec.planner import Plan, price_label

KEY_ATTRIBUTES = ("category", "color", "material", "pattern", "gender", "usage")


# --- pieces --------------------------------------------------------------------------------------

def shown(data: Any) -> Any:
    """``data`` with every string (keys too) made visible: control characters escaped, so an id holding
    ESC [31m cannot recolour the terminal. The renderers below put catalog and request text only into
    ``rich.text.Text`` (never parsed as markup); a markup template takes :func:`literal` text instead."""
    if isinstance(data, str):
        return visible(data)
    if isinstance(data, dict):
        return {shown(k): shown(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [shown(v) for v in data]
    return data


def short_attributes(attributes: dict[str, Any], limit: int = 4) -> str:
    keys = [k for k in KEY_ATTRIBUTES if k in attributes] + [k for k in attributes if k not in KEY_ATTRIBUTES]
    parts = []
    for k in keys[:limit]:
        v = attributes[k]
        parts.append(", ".join(v) if isinstance(v, list) else str(v))
    return " · ".join(parts)


def money(amount: float, currency: str | None) -> str:
    return f"{amount:.2f} {currency or ''}".strip()


def price_text(item: dict[str, Any]) -> str:
    """"39.95 EUR", with "(out)" when the catalog says it is out of stock: the same in every table."""
    price = money(item["price"], item.get("currency")) if item.get("price") is not None else ""
    if item.get("in_stock") is False:
        price = f"{price} (out)".strip()
    return price


def marker_of(item: dict[str, Any]) -> str:
    """What a row is, when it is not a plain match: "relaxed" (passed only after the loop relaxed a kept
    anchor attribute). Near misses are never rows of results: they are listed apart, as alternatives."""
    if (item.get("tier") or 1) > 1:
        return "relaxed"
    return ""


def relaxed_words(data: dict[str, Any]) -> str:
    """"Relaxed: the anchor's material cotton, pattern solid (too few matches had them); rows marked relaxed
    may differ there", or "" when the loop gave up nothing. The rows' marker alone does not say what was given
    up, and a product whose catalog row does not list the attribute cannot say it lacks it."""
    given = [a for a in data.get("assumptions") or [] if a.get("use") == "relaxed"]
    if not given:
        return ""
    values = ", ".join(f"{a['attribute']} {a['value']}" for a in given)
    return (f"Relaxed: the anchor's {values} (too few matches had {'it' if len(given) == 1 else 'them'}); "
            "rows marked relaxed may differ there")


def unlike_words(item: dict[str, Any]) -> str:
    """"not cotton, not striped": what a relaxed row is known to lack of the anchor's given-up look."""
    return ", ".join("not " + label.partition("=")[2] for label in item.get("not_kept") or [])


def plan_words(plan: dict[str, Any]) -> str:
    """A plan (as JSON) in one line: "color=navy, price <= 40, shorter sleeves"."""
    return ", ".join(Plan.from_dict(plan).describe())


def hanging(head: Text, text: Text) -> RenderableType:
    """``head``, a space and ``text`` on one line when they fit, exactly as printed together; a longer
    ``text`` wraps under itself, not back at column 0, so a numbered way forward still reads as one
    item below its number.

    A head as wide as half the terminal (an index's path, a long session name) would leave its text a
    sliver, or be cut short itself: such a head that does not fit with its text takes a line of its own,
    and the text follows two spaces in."""
    if head.cell_len > stdout.width // 2 and head.cell_len + 1 + text.cell_len > stdout.width:
        return Group(head, indented(text))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")    # a word wider than the column (a path) goes on, never cut to "…"
    grid.add_row(head, text)
    return grid


def sentence(text: Text) -> RenderableType:
    """``text`` as it prints alone where it fits; a longer sentence keeps its first line at column 0 and
    goes on two spaces in, as a note does.

    A sentence has no label for its words to hang past (as :func:`hanging` gives them), and hanging it past
    its first word would indent it by an accident of wording ("No ", "Only 2 "); back at column 0 its
    continuation read as a line of its own. Two spaces in, it reads as the rest of the same sentence."""
    if text.cell_len <= stdout.width:
        return text
    first = text.wrap(stdout, stdout.width)[0]     # rich's own break, its spaces past the width dropped
    first.rstrip()
    start = len(first.plain)
    while text.plain[start:start + 1].isspace():
        start += 1
    return Group(first, indented(text[start:]))


def render_notes(notes: list[str]) -> None:
    """Notes already made visible (the renderers pass their data through :func:`shown` first)."""
    for n in notes:
        stdout.print(indented(Text(n, style="dim")))


def indented(text: Text) -> Padding:
    """``text`` two spaces in, every line it wraps to as well (a note's continuation under its words)."""
    return Padding(text, (0, 0, 0, 2), expand=False)


def render_profile_note(note: dict[str, Any] | list[dict[str, Any]] | None) -> None:
    """One line naming the profile rules that shaped a result (nothing when no profile applied).

    ``note`` is refine's and outfit's ``profile`` section, or search's list of the rules it applied.
    """
    if not note:
        return
    rules = note if isinstance(note, list) else note["rules"]
    applied = [r["detail"] for r in rules if r["applied"]]
    waived = [r["detail"] for r in rules if not r["applied"]]
    if applied:
        stdout.print(hanging(Text("Profile:", style="bold"), Text("; ".join(applied))))
    render_notes(waived)


# --- rows of products: a full table when the terminal is wide, a compact layout when it is not ------

WIDE_COLUMNS = 110   # below this, table cells wrap titles over several lines: use the compact layout


def is_wide() -> bool:
    return stdout.width >= WIDE_COLUMNS


@dataclass
class Row:
    """One product in a list: its rank, the result as JSON, the reason shown for it, what kind of row."""

    rank: int
    item: dict[str, Any]
    why: str = ""
    marker: str = ""
    label: str = ""      # what stands before the title in the compact layout (default "rank.")

    @property
    def head(self) -> str:
        return self.label or f"{self.rank}."


def rows_of(items: list[dict[str, Any]], *, start: int = 1, why: Callable[[dict[str, Any]], str] | None = None,
            marker: str | None = None) -> list[Row]:
    why = why or (lambda r: str(r.get("why") or ""))
    return [Row(rank, r, why(r), marker if marker is not None else marker_of(r))
            for rank, r in enumerate(items, start=start)]


def render_rows(rows: list[Row], *, title: str = "", attributes: bool = True, score: bool = True) -> None:
    if not rows:
        return
    if is_wide():
        stdout.print(_rows_table(rows, title=title, attributes=attributes, score=score))
        return
    if title:
        stdout.print(Text(title, style="bold"))
    width = max(len(r.head) for r in rows)
    for row in rows:
        _compact_row(row, width, score=score)


def _rows_table(rows: list[Row], *, title: str, attributes: bool, score: bool) -> Table:
    table = Table(title=Text(title) if title else None, title_justify="left", header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title")
    if attributes:
        table.add_column("attributes", style="green")
    table.add_column("price", justify="right")
    if score:
        table.add_column("score", justify="right")
    if any(r.marker for r in rows):
        table.add_column("", style="yellow")
    if any(r.why for r in rows):
        table.add_column("why", style="green" if not attributes else None)
    for row in rows:
        r = row.item
        cells = [str(row.rank), Text(r["id"]), Text(r.get("title") or "")]
        cells += [Text(short_attributes(r.get("attributes") or {}))] if attributes else []
        cells += [Text(price_text(r))] + ([f"{r['score']:.3f}"] if score else [])
        cells += [Text(row.marker)] if any(x.marker for x in rows) else []
        cells += [Text(row.why)] if any(x.why for x in rows) else []
        table.add_row(*cells)
    return table


def _compact_row(row: Row, width: int, *, score: bool) -> None:
    """rank, title (cut with an ellipsis to one line), price; then id and attributes; then the reason."""
    r = row.item
    head = Table.grid(padding=(0, 1), expand=True)
    head.add_column(justify="right", width=width, style="dim")
    head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    head.add_column(justify="right", no_wrap=True)
    right = Text(price_text(r))
    if row.marker:
        right = Text.assemble((row.marker, "yellow"), "  " if right else "", right)
    head.add_row(row.head, Text(r.get("title") or r["id"], style="bold"), right)
    stdout.print(head)
    facts = [r["id"], short_attributes(r.get("attributes") or {})] + ([f"score {r['score']:.3f}"] if score else [])
    indent = (0, 0, 0, width + 1)
    stdout.print(Padding(Text(" · ".join(f for f in facts if f), style="dim"), indent, expand=False))
    if row.why:
        stdout.print(Padding(Text(row.why, style="green"), indent, expand=False))


# --- search and similar --------------------------------------------------------------------------

def render_search(data: dict[str, Any], title: str) -> None:
    data, title = shown(data), visible(title)
    understood = data["query"].get("understood")
    if understood:
        named = plan_words(understood)
        if named:
            stdout.print(hanging(Text("Understood:", style="bold"),
                                 Text.assemble(named, (f"  ({understood['planner']} planner)", "dim"))))
        render_notes(understood["notes"])
    photo = data["query"].get("photo")
    if photo:   # what the photo shows, said, since it only ranks
        stdout.print(hanging(Text("Photo:", style="bold"),
                             Text.assemble(anchor_words(photo), (f"  ({photo['note']})", "dim"))))
    render_taken(data["query"])
    render_profile_note(data.get("profile"))
    results = data["results"]
    if not results and not data.get("shortfall"):
        stdout.print("[yellow]No results.[/]" if not data["query"].get("offset") else
                     f"[yellow]No results after the first {data['query']['offset']}.[/]")
    render_rows(rows_of(results, start=(data["query"].get("offset") or 0) + 1), title=title)
    render_shortfall(data.get("shortfall"))
    render_alternatives(data)


def render_alternatives(data: dict[str, Any]) -> None:
    """Near misses an answer keeps apart from its results (``alternatives``), each saying what it lacks."""
    alternatives = data.get("alternatives") or []
    if alternatives:
        render_rows(rows_of(alternatives, marker="alternative"), title="Alternatives (each lacks something):")


# --- refine and sessions -------------------------------------------------------------------------

def anchor_words(anchor: dict[str, Any], *, width: int | None = None) -> str:
    """What was read from the anchor: "category=shirt (57%), color=white (80%)"; with ``width``, the
    values alone, key attributes first, as many as fit in one line of that many characters."""
    guesses = anchor.get("attributes") or {}
    if not guesses:
        return "(unknown)"
    keys = [k for k in KEY_ATTRIBUTES if k in guesses] + [k for k in guesses if k not in KEY_ATTRIBUTES]
    if width is None:
        return ", ".join(f"{a}={guesses[a]['value']} ({_how_read(guesses[a])})" for a in keys)
    parts: list[str] = []
    for n, a in enumerate(keys):
        part = f"{guesses[a]['value']} {_how_read(guesses[a], short=True)}"
        more = f" · +{len(keys) - n - 1} more" if n < len(keys) - 1 else ""
        if parts and len(" · ".join(parts + [part]) + more) > width:
            return " · ".join(parts) + f" · +{len(keys) - n} more"
        parts.append(part)
    return " · ".join(parts)


def _how_read(guess: dict[str, Any], *, short: bool = False) -> str:
    """"57%" for a reading; "you said, photo: shirt 57%" for a correction (what it replaced stays visible)."""
    if guess.get("source") != "shopper":
        return f"{guess['confidence']:.0%}"
    was = guess.get("guessed")
    if short or not was or was["value"] == guess["value"]:
        return "you said"
    return f"you said; photo: {was['value']} {was['confidence']:.0%}"


def render_refine(data: dict[str, Any], *, explain: bool) -> None:
    data = shown(data)
    plan = data["plan"]
    if is_wide() or explain:
        catalog_id = data["anchor"].get("catalog_id")
        source = f"catalog {catalog_id}" if catalog_id else "read from the photo"
        fixed = [a for a, g in (data["anchor"].get("attributes") or {}).items() if g.get("source") == "shopper"]
        source += f"; you corrected {', '.join(fixed)}" if fixed else ""
        stdout.print(hanging(Text("Anchor:", style="bold"),
                             Text.assemble(anchor_words(data["anchor"]), (f"  ({source})", "dim"))))
    else:
        stdout.print(Text.assemble(("Anchor: ", "bold"), anchor_words(data["anchor"], width=stdout.width - 9)))
    for unsure in data.get("unsure") or []:
        stdout.print(hanging(Text("  ?", style="yellow"), Text(unsure["question"], style="yellow")))
    for a in data.get("assumptions") or []:   # read too unsurely to require, or kept as one of two readings
        if a["use"] == "either" or a["use"] == "preferred" and "unsure" in (a.get("reason") or ""):
            stdout.print(indented(Text(f"{a['attribute']} {a['reason']} (correct it with --anchor "
                                       f"{a['attribute']}=VALUE)", style="yellow")))
    stdout.print(hanging(Text("Understood:", style="bold"), Text.assemble(
        plan_words(plan) or "(no explicit change)", (f"  ({plan['source']} planner)", "dim"))))
    render_taken(data["query"])
    relaxed = relaxed_words(data)
    if relaxed:
        label, _, rest = relaxed.partition(" ")    # "Relaxed:", then what was given up, wrapped under itself
        stdout.print(hanging(Text(label, style="yellow"), Text(rest, style="yellow")))
    render_notes((plan.get("notes") or []) + ((data.get("relative") or {}).get("notes") or []))
    render_profile_note(data.get("profile"))
    if explain:
        for s in data["steps"]:
            render_notes([f"step {s['number']}: {s['action']} {s['detail']} - {s['allowed']} allowed, "
                          f"{s['retrieved']} retrieved, {s['passed_guard']} passed the guard, "
                          f"{s['selected']} selected {s['dropped'] or ''}"])
        render_notes([f"stop: {data['stop_reason']}"])
    if not data["results"]:
        if not data.get("shortfall"):
            stdout.print("[yellow]No product satisfies every constraint.[/]")
        render_shortfall(data.get("shortfall"))
        render_alternatives(data)
        return
    offset = data["query"].get("offset") or 0
    render_rows(rows_of(data["results"], start=offset + 1,
                        why=lambda r: r["why"] if explain else "; ".join(
                            part for part in (", ".join(r["satisfied"]), unlike_words(r)) if part) or "-"),
                attributes=False, score=explain)
    render_shortfall(data.get("shortfall"))
    render_alternatives(data)


def render_taken(query: dict[str, Any]) -> None:
    """The ways forward --relax took, in turn: "Took way forward 1: 11 linen items ... if you drop shirt"."""
    for taken in query.get("relaxed") or []:
        stdout.print(hanging(Text(f"Took way forward {taken['number']}:", style="bold"), Text(taken["message"])))


def render_shortfall(short: Optional[dict[str, Any]]) -> None:
    """ "Only 4 linen shirts for men.", then what each relaxation would yield, numbered."""
    if not short:
        return
    message = short["message"]
    stdout.print(sentence(Text(f"{message[:1].upper() + message[1:]} (you asked for {short['wanted']}).",
                               style="bold yellow")))
    if any(_useful(o) for o in short["options"]):
        stdout.print(Text("Ways forward:", style="bold"))
        for o in short["options"]:     # those that add nothing are listed dimmed, so the shopper sees why
            take = " ".join(f"--relax {n}" for n in (o.get("take") or {}).get("relax") or [])
            style = "" if _useful(o) else "dim"
            stdout.print(hanging(Text(f"  {o['number']}.", style=style),
                                 Text.assemble((o["message"], style), (f"  ({take})" if take else "", "dim"))))
    elif any(o["count"] for o in short["options"]):
        stdout.print(Text("  giving up any one constraint would find nothing more:", style="dim"))
        for o in short["options"]:
            stdout.print(hanging(Text(f"  {o['number']}.", style="dim"), Text(o["message"], style="dim")))
    else:
        stdout.print(Text("  giving up any one constraint would still find nothing", style="dim"))


def _useful(option: dict[str, Any]) -> bool:
    """Whether a way forward adds something (an answer saved before ``useful`` existed: it finds any)."""
    return bool(option.get("useful", option["count"]))


def render_changes(session: dict[str, Any]) -> None:
    changes = shown(session["changes"])
    listed = [("+ " if c["change"] == "added" else "- " if c["change"] == "removed" else "~ ")
              + (f"{c['previous']} -> {c['constraint']}" if c.get("previous") else c["constraint"]) for c in changes]
    stdout.print(hanging(Text("Changed:", style="bold"), Text(", ".join(listed)) if listed else
                         Text("no change to the constraints", style="dim")))
    render_constraints(session["constraints"])


def render_constraints(constraints: list[str]) -> None:
    listed = ", ".join(shown(constraints))
    stdout.print(hanging(Text("Constraints:", style="bold"), Text(listed) if listed else Text("(none)", style="dim")))


def render_turn(data: dict[str, Any], *, explain: bool) -> None:
    s = shown({k: v for k, v in data["session"].items() if k in ("name", "turn", "action", "anchor")})
    anchor = s["anchor"]
    source = anchor["value"] if anchor["kind"] == "image" else f"product {anchor['value']}"
    if anchor["kind"] == "image" and not is_wide():
        source = Path(source).name
    source += corrected_words(anchor)
    text = f' "{visible(data["query"]["text"])}"' if data["query"].get("text") and s["action"] != "more" else ""
    stdout.print(hanging(Text(f"Session {s['name']} · turn {s['turn']}", style="bold cyan"),
                         Text.assemble(f"({s['action']}){text}  ", (f"anchor: {source}", "dim"))))
    render_changes(data["session"])
    render_refine(data, explain=explain)


def corrected_words(anchor_ref: dict[str, Any]) -> str:
    """" (you said category=jacket)": what the shopper corrected in a session turn's anchor."""
    fixed = anchor_ref.get("overrides") or {}
    return f" (you said {', '.join(f'{a}={v}' for a, v in fixed.items())})" if fixed else ""


def turn_heading(turn: dict[str, Any], before: dict[str, Any] | None) -> str:
    """How a stored turn reads: 'start "in navy"', 'pick #2 of turn 1: Slim olive shirt', 'more (11-20)'."""
    text = f' "{turn["text"]}"' if turn.get("text") and turn["action"] != "more" else ""
    if turn["action"] == "pick" and before is not None:
        picked = turn["anchor"]["value"]
        ids = before.get("results") or []
        rank = ids.index(picked) + 1 if picked in ids else None
        title = (before.get("titles") or [])[rank - 1] if rank and len(before.get("titles") or []) >= rank else ""
        what = f"#{rank} of turn {before['turn']}" if rank else f"product {picked}"
        return f"pick {what}: {title or picked}" + (f" ({picked})" if title else "") + text
    if turn["action"] == "more" and before is not None:
        return f"more (results {len(before.get('results') or []) + 1}-{len(turn.get('results') or [])})"
    return turn["action"] + text


def render_session(data: dict[str, Any]) -> None:
    """`session show`: every turn with its request (a pick names what was picked), changes and results."""
    data = shown(data)
    stdout.print(hanging(Text.assemble((data["name"], "bold"), f" · {len(data['turns'])} turn(s) · index"),
                         Text(data["index"] or "?")))
    before = None
    for t in data["turns"]:
        anchor = t["anchor"]
        source = Path(anchor["value"]).name if anchor["kind"] == "image" else f"product {anchor['value']}"
        source = "" if t["action"] == "pick" else f"{source}{corrected_words(anchor)} · "   # a pick names its own
        stdout.print(hanging(Text(f"{t['turn']}.", style="bold cyan"),
                             Text.assemble(turn_heading(t, before), (f"  {source}{t['time']}", "dim"))))
        render_changes(t)
        titles = t.get("titles") or []
        listed = [f"{n}. {titles[n - 1]} ({pid})" if n <= len(titles) and titles[n - 1] else f"{n}. {pid}"
                  for n, pid in enumerate(t["results"], start=1)]
        first = len(before["results"]) if t["action"] == "more" and before else 0
        listed = listed[first:]
        stdout.print(Padding(Text("\n".join(listed[:10]) + (f"\n… and {len(listed) - 10} more" if len(listed) > 10
                                                             else "") if listed else "(no results)"),
                             (0, 0, 0, 3), expand=False))
        render_notes([t["stop_reason"]] if t.get("stop_reason") else [])
        before = t


def turn_anchor_image(data: dict[str, Any]) -> Optional[Path]:
    image = (data.get("anchor") or {}).get("image")
    return Path(image) if image else None


# --- index facts -------------------------------------------------------------------------------

def counted(counts: dict[str, int], limit: int = 6) -> str:
    """"red 40, blue 31, ... (+12 more)": the most common values first."""
    shown = ", ".join(f"{v} {n}" for v, n in list(counts.items())[:limit])
    return shown + (f", … (+{len(counts) - limit} more)" if len(counts) > limit else "")


def render_info(data: dict[str, Any]) -> None:
    data = shown(data)
    stdout.print(hanging(Text.assemble((data["path"], "bold"), ":"), Text(
        f"{data['items']} items, {data['disk_bytes'] / 1e6:.1f} MB, encoder {data['encoder']['identifier']} "
        f"(dim {data['encoder']['dimension']}), schema v{data['schema_version']}, updated {data['updated_at']}")))
    if data.get("query_runtime"):
        stdout.print(hanging(Text(f"queries run on {data['query_runtime']['runtime']}:"),
                             Text(data["query_runtime"]["why"])))
    table = Table("attribute", "values", "most common (products)", header_style="bold")
    for attr, counts in data["vocabulary"].items():
        table.add_row(Text(attr), str(len(counts)), Text(counted(counts)))
    stdout.print(table)
    price = data["price"]
    if price["priced"]:
        currency = price["currency"] or " / ".join(price["currencies"]) or ""
        stdout.print(f"[bold]Prices:[/] {price['min']:.2f} to {price['max']:.2f} {literal(currency)} (median "
                     f"{price['median']:.2f}; {price['priced']} of {data['items']} priced)", highlight=False)
    else:
        stdout.print("[bold]Prices:[/] [dim]none listed[/]", highlight=False)
    for label, counts in (("Brands", data["brands"]), ("Sizes", data["sizes"])):
        stdout.print(f"[bold]{label}:[/] " + (f"{len(counts)}: {literal(counted(counts, 8))}" if counts
                                               else "[dim]none listed[/]"), highlight=False)
    stock = data["stock"]
    stdout.print(f"[bold]Stock:[/] {stock['in_stock']} in stock, {stock['out_of_stock']} out of stock, "
                 f"{stock['unknown']} not stated", highlight=False)


# --- plans ---------------------------------------------------------------------------------------

def render_plan(plan: Plan, text: str) -> None:
    """The plan for a person: one line per kind of constraint, then notes."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    rows: list[tuple[str, str]] = []
    if plan.set:
        rows.append(("want", ", ".join(f"{a} = {v}" for a, v in plan.set.items())))
    if plan.exclude:
        rows.append(("avoid", ", ".join(f"{a} ≠ {' / '.join(v)}" for a, v in plan.exclude.items())))
    price = price_label(plan.price_min, plan.price_max)
    if price:
        rows.append(("price", price.removeprefix("price ")))
    for label, values in (("brand", plan.brands), ("not brand", plan.exclude_brands), ("size", plan.sizes)):
        if values:
            rows.append((label, " / ".join(values)))
    for label, values in (("steer", plan.relative), ("keep", plan.keep), ("any", plan.drop)):
        if values:
            rows.append((label, ", ".join(values)))
    if plan.include_out_of_stock:
        rows.append(("stock", "out-of-stock items welcome"))
    if plan.query:
        rows.append(("words", plan.query))
    for label, value in rows:
        table.add_row(label, literal(value))
    stdout.print(f"[bold]Plan[/] for [italic]{literal(repr(text))}[/] [dim]({plan.source})[/]", highlight=False)
    if rows:
        stdout.print(table)
    else:
        stdout.print("  [yellow]nothing to change: the anchor's look is kept[/]")
    for n in plan.notes:
        stdout.print(hanging(Text.assemble("  ", ("·", "dim")), Text(visible(n), style="dim")))


# --- outfits -------------------------------------------------------------------------------------

def total_text(total: dict[str, Any]) -> str:
    """"129.85 EUR", "+ 1 unpriced" when some pieces have no price; "no prices" when none has."""
    if total.get("price") is None:
        return "no prices"
    text = money(total["price"], total.get("currency"))
    return text + (f" + {total['unpriced']} unpriced" if total.get("unpriced") else "")


def render_outfits(data: dict[str, Any]) -> None:
    data = shown(data)
    a = data["anchor"]
    traits = a["traits"]
    described = " · ".join(str(traits[k]) for k in ("category", "gender", "color", "season") if traits.get(k))
    source = f"catalog {a['catalog_id']}" if a.get("catalog_id") else "inferred from the image"
    stdout.print(hanging(Text("Anchor:", style="bold"),
                         Text.assemble(described, (f" ({traits['group']}, {source})", "dim"))))
    if a.get("occasion"):
        stdout.print(hanging(Text("Occasion:", style="bold"),
                             Text.assemble(a["occasion"], (f" ({a['occasion_source']})", "dim"))))
    if data.get("budget") is not None:
        stdout.print(hanging(Text("Budget:", style="bold"), Text(f"{data['budget']:g} for the added pieces of a look")))
    for n in a.get("notes") or []:
        stdout.print(indented(Text(n, style="yellow")))
    render_profile_note(data.get("profile"))
    if not data["outfits"]:
        stdout.print("[yellow]No outfit could be built from this catalog.[/]")
        for e in data.get("empty") or []:
            stdout.print(hanging(Text(f"  {e['slot']}:", style="yellow"), Text(e["reason"], style="yellow")))
        return
    for number, outfit in enumerate(data["outfits"], start=1):
        _render_outfit(number, outfit)


def _render_outfit(number: int, outfit: dict[str, Any]) -> None:
    title = f"Outfit {number} · total {total_text(outfit['total'])} · score {outfit['score']:.3f}"
    rows = [Row(0, p, p["why"], label=p["slot"] + (" (optional)" if p.get("optional") else ""))
            for p in outfit["pieces"]]
    empty = {e["slot"]: e["reason"] for e in outfit.get("empty") or []}
    if is_wide():
        table = Table(title=title, title_justify="left", header_style="bold")
        for col, style in (("slot", "magenta"), ("id", "cyan"), ("title", ""), ("attributes", "green"),
                           ("price", ""), ("why", "dim")):
            table.add_column(col, style=style or None, overflow="fold", justify="right" if col == "price" else "left")
        for row in rows:
            p = row.item
            table.add_row(Text(row.label), Text(p["id"]), Text(p.get("title") or ""),
                          Text(short_attributes(p.get("attributes") or {})), Text(price_text(p)), Text(row.why))
        for slot in outfit.get("missing") or []:
            table.add_row(Text(slot), "-", Text(f"empty: {empty.get(slot, 'nothing suitable')}", style="yellow"),
                          "", "", "")
        stdout.print(table)
    else:
        stdout.print(Text(title, style="bold"))
        width = max((len(r.head) for r in rows), default=1)
        for row in rows:
            _compact_row(row, width, score=False)
        for slot in outfit.get("missing") or []:
            stdout.print(hanging(Text(f"{slot}:", style="yellow"),
                                 Text(f"empty: {empty.get(slot, 'nothing suitable')}", style="yellow")))
    reasons = Table.grid(padding=(0, 1))
    reasons.add_column(justify="right", style="dim", width=7)
    reasons.add_column(style="dim", no_wrap=True)
    reasons.add_column(style="dim")
    for r in outfit["reasons"]:
        reasons.add_row(f"+{r['points']:.3f}" if r["points"] else "", Text(r["rule"]), Text(r["detail"]))
    stdout.print(Padding(reasons, (0, 0, 0, 1), expand=False))
