"""`fashrec outfit IMAGE` (complete the look) and `fashrec eval outfit CATALOG`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from fashrec.cli.app import app, eval_app
from fashrec.cli.options import (
    IndexOpt,
    JsonOpt,
    SheetOpt,
    open_index_for,
    short_attributes,
)
from fashrec.cli.output import emit, handled, note, progress_bar, stdout
from fashrec.cli.profile_cmd import (
    NoProfileOpt,
    load_profile_unless,
    render_profile_note,
)

OccasionOpt = typer.Option(None, "--occasion", "-o", help="casual, formal, sports, party, ethnic, smart casual, "
                           "travel (or any word: matched by image-text similarity). Default: the anchor's usage.")
SlotsOpt = typer.Option(None, "--slots", help="An edited copy of the slot definition "
                        "(default: fashrec/data/outfit_slots.json).")


def build_anchor(idx, encoder, image: Optional[Path], product_id: Optional[str]):
    """The anchor: a catalog product by id, or an image whose attributes are inferred."""
    from fashrec.ammr.anchor import anchor_from_product, understand_anchor
    from fashrec.encoder.prompts import AttributePrompts
    from fashrec.errors import UsageError

    if product_id:
        if image is not None:
            raise UsageError("give an anchor IMAGE or --id, not both")
        return anchor_from_product(idx, product_id)
    if image is None:
        raise UsageError("give an anchor image (or --id PRODUCT): fashrec outfit shirt.jpg")
    vector = encoder.encode_images([image])[0]
    return understand_anchor(idx, vector, AttributePrompts(idx, encoder), image=image)


def render_outfits(data: dict[str, Any]) -> None:
    a = data["anchor"]
    traits = a["traits"]
    described = " · ".join(str(traits[k]) for k in ("category", "gender", "color", "season") if traits.get(k))
    source = f"catalog {a['catalog_id']}" if a.get("catalog_id") else "inferred from the image"
    stdout.print(f"[bold]Anchor:[/] {described} [dim]({traits['group']}, {source})[/]")
    if a.get("occasion"):
        stdout.print(f"[bold]Occasion:[/] {a['occasion']} [dim]({a['occasion_source']})[/]")
    for n in a.get("notes") or []:
        stdout.print(f"  [yellow]{n}[/]")
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
            stdout.print(f"  [dim]{points}  {r['rule']:<13} {r['detail']}[/]")


def write_outfit_sheet(path: Path, data: dict[str, Any], anchor_image: Path | None) -> Path:
    """One row per outfit: the anchor (highlighted), then its pieces."""
    from fashrec.cli.sheet import Tile, make_sheet

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
        from fashrec.errors import UsageError

        raise UsageError(f"cannot write the sheet {path}: {exc.strerror or exc}") from None


@app.command()
def outfit(
    image: Optional[Path] = typer.Argument(None, help="The anchor garment's image (need not be in the catalog)."),
    product_id: Optional[str] = typer.Option(None, "--id", help="Use a catalog product as the anchor."),
    index: Optional[Path] = IndexOpt,
    occasion: Optional[str] = OccasionOpt,
    n: int = typer.Option(3, "-n", "--outfits", min=1, max=20, help="How many distinct outfits."),
    include_out_of_stock: bool = typer.Option(False, "--include-out-of-stock",
                                              help="Also use pieces the catalog marks out of stock."),
    slots: Optional[Path] = SlotsOpt,
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Complete the look: build outfits from other garment groups around an anchor piece.

    The personal profile applies to every piece: budget (per piece) and size are hard limits, avoided
    values are left out unless the anchor has them, preferred values and brands rank first.
    """
    from fashrec.outfit import OutfitComposer, load_definition
    from fashrec.profile import profile_limits

    with handled(json_mode):
        definition = load_definition(slots) if slots else None
        profile = load_profile_unless(no_profile)
        idx = open_index_for(index)
        from fashrec.encoder import load_encoder

        encoder = load_encoder(idx.encoder_spec, interactive=True)
        anchor = build_anchor(idx, encoder, image, product_id)
        composer = OutfitComposer(idx, encoder, definition=definition)
        limits = profile_limits(profile, idx, anchor) if profile else None
        result = composer.compose(anchor, occasion=occasion, n=n, include_out_of_stock=include_out_of_stock,
                                  profile=limits)
        data = result.to_dict()
        if sheet:
            note(f"sheet: {write_outfit_sheet(sheet, data, image)}")
        emit(data, json_mode=json_mode, render=lambda: render_outfits(data))


def render_outfit_eval(data: dict[str, Any]) -> None:
    stdout.print(f"[bold]{data['anchors']}[/] anchors ({', '.join(f'{g} {c}' for g, c in data['anchor_groups'].items())})"
                 f" over {data['items']} indexed products, {data['n']} outfits each"
                 + (f", occasion {data['occasion']}" if data["occasion"] else ""))
    rows = [
        ("outfits per anchor", "outfits_per_anchor"), ("gender agreement", "gender_agreement"),
        ("usage exact", "usage_exact"), ("usage compatible", "usage_compatible"),
        ("season exact", "season_exact"), ("season compatible", "season_compatible"),
        ("slot coverage", "slot_coverage"), ("optional slots filled", "optional_filled"),
        ("colour harmony mean", "colour_mean"), ("colour harmony p10", "colour_p10"),
        ("clash rate", "clash_rate"), ("> 1 loud colour", "loud_violation_rate"),
        ("double denim", "double_denim_rate"),
        ("distinct pieces", "distinct_piece_share"), ("Jaccard distance", "jaccard_distance"),
        ("embedding dissimilarity", "embedding_dissimilarity"),
        ("latency p50 ms", "latency_p50_ms"), ("latency p95 ms", "latency_p95_ms"),
    ]
    table = Table("measure", "outfit composer", "random baseline", header_style="bold")
    for label, key in rows:
        table.add_row(label, f"{data['composer'][key]:.3f}",
                      "-" if key.startswith("latency") else f"{data['baseline'][key]:.3f}")
    stdout.print(table)
    stdout.print("[dim]load (ms, excluded from latency): "
                 + ", ".join(f"{k} {v:.0f}" for k, v in data["load_ms"].items()) + "[/]")


@eval_app.command("outfit")
def eval_outfit(
    catalog: Optional[Path] = typer.Argument(None, help="Catalog JSONL (its index is built or updated first)."),
    index: Optional[Path] = typer.Option(None, "--index", help="Evaluate on this index as it is instead."),
    n_anchors: int = typer.Option(100, "--n-anchors", min=1, help="How many catalog products to dress."),
    n: int = typer.Option(3, "-n", "--outfits", min=1, max=20, help="Outfits per anchor."),
    occasion: Optional[str] = OccasionOpt,
    seed: int = typer.Option(0, "--seed"),
    model: Optional[str] = typer.Option(None, "--model", help="Encoder when the index must be built."),
    prompts: bool = typer.Option(False, "--prompts", help="Load the encoder for the occasion-prompt cue even "
                                 "without --occasion."),
    json_mode: bool = JsonOpt,
) -> None:
    """Consistency, colour harmony, diversity and latency of composed outfits vs a random baseline."""
    from fashrec.evaluation.outfit import evaluate_outfits

    with handled(json_mode):
        with progress_bar("Composing outfits", n_anchors, enabled=not json_mode) as advance:
            report = evaluate_outfits(catalog, index_dir=index, n_anchors=n_anchors, n=n, occasion=occasion,
                                      seed=seed, model=model, use_encoder=prompts, progress=advance)
        data = report.to_dict()
        emit(data, json_mode=json_mode, render=lambda: render_outfit_eval(data))
