"""CLI layer: the one renderer -- results, plans, anchors, sessions and outfits as a person reads them.

Everything here draws from the JSON documents the commands print with ``--json`` (never from library
objects), so what a person sees and what a script parses cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.table import Table

from fashrec.cli.output import literal, stdout
from fashrec.cli.sheet import Tile, make_sheet
from fashrec.errors import UsageError
from fashrec.planner import Plan, price_label

KEY_ATTRIBUTES = ("category", "color", "material", "pattern", "gender", "usage")


# --- pieces --------------------------------------------------------------------------------------

def shown(data: Any) -> Any:
    """``data`` with every string (keys too) made literal for rich: the renderers below put catalog and
    request text into markup templates and table cells, which rich would otherwise parse."""
    if isinstance(data, str):
        return literal(data)
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


def price_text(item: dict[str, Any]) -> str:
    """"39.95 EUR", with "(out)" when the catalog says it is out of stock: the same in every table."""
    price = f"{item['price']:.2f} {item.get('currency') or ''}".strip() if item.get("price") is not None else ""
    if item.get("in_stock") is False:
        price = f"{price} (out)".strip()
    return price


def plan_words(plan: dict[str, Any]) -> str:
    """A plan (as JSON) in one line: "color=navy, price <= 40, shorter sleeves"."""
    return ", ".join(Plan.from_dict(plan).describe())


def render_notes(notes: list[str]) -> None:
    """Notes already made literal (the renderers pass their data through :func:`shown` first)."""
    for n in notes:
        stdout.print(f"  [dim]{n}[/]", highlight=False)


def render_profile_note(note: Optional[dict[str, Any]]) -> None:
    """One line naming the profile rules that shaped a result (nothing when no profile applied)."""
    if not note:
        return
    applied = [r["detail"] for r in note["rules"] if r["applied"]]
    waived = [r["detail"] for r in note["rules"] if not r["applied"]]
    if applied:
        stdout.print("[bold]Profile:[/] " + "; ".join(applied), highlight=False)
    render_notes(waived)


# --- search and similar --------------------------------------------------------------------------

def results_table(results: list[dict[str, Any]], *, title: str = "", extra: str | None = None) -> Table:
    table = Table(title=title or None, show_lines=False, header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("title")
    table.add_column("attributes", style="green")
    table.add_column("price", justify="right")
    table.add_column("score", justify="right")
    if extra:
        table.add_column(extra)
    for rank, r in enumerate(results, start=1):
        row = [str(rank), r["id"], r.get("title") or "", short_attributes(r.get("attributes") or {}), price_text(r),
               f"{r['score']:.3f}"]
        if extra:
            row.append(str(r.get(extra.lower(), "")))
        table.add_row(*row)
    return table


def render_search(data: dict[str, Any], title: str) -> None:
    data, title = shown(data), literal(title)
    understood = data["query"].get("understood")
    if understood:
        named = plan_words(understood)
        if named:
            stdout.print(f"[bold]Understood:[/] {named}  [dim]({understood['planner']} planner)[/]", highlight=False)
        render_notes(understood["notes"])
    results = data["results"]
    if not results:
        stdout.print("[yellow]No results.[/]")
        return
    # A "why" column only when something (a profile preference, a near miss) explains a row.
    stdout.print(results_table(results, title=title, extra="Why" if any(r.get("why") for r in results) else None))


# --- refine and sessions -------------------------------------------------------------------------

def render_refine(data: dict[str, Any], *, explain: bool) -> None:
    data = shown(data)
    plan = data["plan"]
    anchor = data["anchor"]["attributes"]
    stdout.print("[bold]Anchor:[/] " + (", ".join(
        f"{a}={g['value']} ({g['confidence']:.0%})" for a, g in anchor.items()) or "(unknown)"), highlight=False)
    for unsure in data.get("unsure") or []:
        stdout.print(f"  [yellow]? {unsure['question']}[/]", highlight=False)
    stdout.print(f"[bold]Understood:[/] {plan_words(plan) or '(no explicit change)'}"
                 f"  [dim]({plan['source']} planner)[/]", highlight=False)
    render_notes((plan.get("notes") or []) + ((data.get("relative") or {}).get("notes") or []))
    render_profile_note(data.get("profile"))
    if explain:
        for s in data["steps"]:
            stdout.print(f"  [dim]step {s['number']}: {s['action']} {s['detail']} - {s['allowed']} allowed, "
                         f"{s['retrieved']} retrieved, {s['passed_guard']} passed the guard, "
                         f"{s['selected']} selected {s['dropped'] or ''}[/]", highlight=False)
        stdout.print(f"  [dim]stop: {data['stop_reason']}[/]", highlight=False)
    if not data["results"]:
        stdout.print("[yellow]No product satisfies every constraint.[/]")
        return
    table = Table(header_style="bold")
    for col, style in (("#", "dim"), ("id", "cyan"), ("title", ""), ("price", ""), ("why", "green")):
        table.add_column(col, style=style or None, overflow="fold")
    for rank, r in enumerate(data["results"], start=1):
        why = r["why"] if explain else ", ".join(r["satisfied"]) or "-"
        table.add_row(str(rank), r["id"], r.get("title") or "", price_text(r), why)
    stdout.print(table)


def render_changes(session: dict[str, Any]) -> None:
    changes = shown(session["changes"])
    listed = [("+ " if c["change"] == "added" else "- " if c["change"] == "removed" else "~ ")
              + (f"{c['previous']} -> {c['constraint']}" if c.get("previous") else c["constraint"]) for c in changes]
    stdout.print("[bold]Changed:[/] " + (", ".join(listed) if listed else "[dim]no change to the constraints[/]"),
                 highlight=False)
    render_constraints(session["constraints"])


def render_constraints(constraints: list[str]) -> None:
    constraints = shown(constraints)
    stdout.print("[bold]Constraints:[/] " + (", ".join(constraints) or "[dim](none)[/]"), highlight=False)


def render_turn(data: dict[str, Any], *, explain: bool) -> None:
    s = shown({k: v for k, v in data["session"].items() if k in ("name", "turn", "action", "anchor")})
    anchor = s["anchor"]
    source = anchor["value"] if anchor["kind"] == "image" else f"product {anchor['value']}"
    text = f' "{literal(data["query"]["text"])}"' if data["query"].get("text") else ""
    stdout.print(f"[bold cyan]Session {s['name']} · turn {s['turn']}[/] ({s['action']}){text}  "
                 f"[dim]anchor: {source}[/]", highlight=False)
    render_changes(data["session"])
    render_refine(data, explain=explain)


def turn_anchor_image(data: dict[str, Any]) -> Optional[Path]:
    image = (data.get("anchor") or {}).get("image")
    return Path(image) if image else None


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
        stdout.print(f"  [dim]· {literal(n)}[/]", highlight=False)


# --- outfits -------------------------------------------------------------------------------------

def render_outfits(data: dict[str, Any]) -> None:
    data = shown(data)
    a = data["anchor"]
    traits = a["traits"]
    described = " · ".join(str(traits[k]) for k in ("category", "gender", "color", "season") if traits.get(k))
    source = f"catalog {a['catalog_id']}" if a.get("catalog_id") else "inferred from the image"
    stdout.print(f"[bold]Anchor:[/] {described} [dim]({traits['group']}, {source})[/]", highlight=False)
    if a.get("occasion"):
        stdout.print(f"[bold]Occasion:[/] {a['occasion']} [dim]({a['occasion_source']})[/]", highlight=False)
    for n in a.get("notes") or []:
        stdout.print(f"  [yellow]{n}[/]", highlight=False)
    render_profile_note(data.get("profile"))
    if not data["outfits"]:
        stdout.print("[yellow]No outfit could be built from this catalog.[/]")
        return
    for number, outfit in enumerate(data["outfits"], start=1):
        table = Table(title=f"Outfit {number} · score {outfit['score']:.3f}", title_justify="left",
                      header_style="bold")
        for col, style in (("slot", "magenta"), ("id", "cyan"), ("title", ""), ("attributes", "green"),
                           ("why", "dim")):
            table.add_column(col, style=style or None, overflow="fold")
        for p in outfit["pieces"]:
            slot = p["slot"] + (" (optional)" if p.get("optional") else "")
            table.add_row(slot, p["id"], p.get("title") or "", short_attributes(p.get("attributes") or {}), p["why"])
        for slot in outfit.get("missing") or []:
            table.add_row(slot, "-", "[yellow]nothing suitable in stock[/]", "", "")
        stdout.print(table)
        for r in outfit["reasons"]:
            points = f"+{r['points']:.3f}" if r["points"] else "      "
            stdout.print(f"  [dim]{points}  {r['rule']:<13} {r['detail']}[/]", highlight=False)


# --- contact sheets ------------------------------------------------------------------------------

def write_sheet(path: Path, anchor: Path | None, results: list[dict[str, Any]], title: str) -> Path:
    tiles = [Tile(anchor, ["anchor / query"], highlight=True)] if anchor else []
    for rank, r in enumerate(results, start=1):
        tiles.append(Tile(Path(r["image"]), [f"{rank}. {r['id']}", (r.get("title") or "")[:24],
                                             f"score {r['score']:.3f}"]))
    try:
        return make_sheet(tiles, path, title=title)
    except OSError as exc:   # a folder, a read-only place, a full disk
        raise UsageError(f"cannot write the sheet {path}: {exc.strerror or exc}") from None


def write_outfit_sheet(path: Path, data: dict[str, Any], anchor_image: Path | None) -> Path:
    """One row per outfit: the anchor (highlighted), then its pieces."""
    anchor_path = anchor_image or (Path(data["anchor"]["image"]) if data["anchor"].get("image") else None)
    width = 1 + max((len(o["pieces"]) for o in data["outfits"]), default=0)
    tiles: list[Tile] = []
    for number, outfit in enumerate(data["outfits"], start=1):
        row = [Tile(anchor_path, [f"outfit {number}", f"score {outfit['score']:.3f}"], highlight=True)]
        row += [Tile(Path(p["image"]), [p["slot"], p["id"], (p.get("title") or "")[:24]]) for p in outfit["pieces"]]
        tiles += row + [Tile(None, []) for _ in range(width - len(row))]
    if not tiles:
        tiles = [Tile(anchor_path, ["anchor", "no outfit"], highlight=True)]
    try:
        return make_sheet(tiles, path, title="Complete the look", columns=max(width, 1))
    except OSError as exc:
        raise UsageError(f"cannot write the sheet {path}: {exc.strerror or exc}") from None
