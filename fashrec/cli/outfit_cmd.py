"""CLI layer: `fashrec outfit IMAGE`, complete the look."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fashrec.cli import remarks  # noqa: F401  (styles the loading remarks)
from fashrec.cli.app import app
from fashrec.cli.options import (
    IndexOpt,
    JsonOpt,
    NoProfileOpt,
    OccasionOpt,
    RuntimeOpt,
    SheetOpt,
)
from fashrec.cli.drawing import renderer
from fashrec.cli.output import emit, handled, literal, note
from fashrec.outfit import OutfitComposer, load_definition
from fashrec.profile import profile_limits
from fashrec.service.runtime import (
    anchor_for,
    load_profile_unless,
    open_index_for,
    query_encoder,
)

SlotsOpt = typer.Option(None, "--slots", metavar="JSON", help="An edited copy of the slot definition "
                        "(default: fashrec/data/outfit_slots.json).")


@app.command()
def outfit(
    image: Optional[Path] = typer.Argument(None, help="The anchor garment's image (need not be in the catalog)."),
    product_id: Optional[str] = typer.Option(None, "--id", metavar="SKU", help="Use a catalog product as the anchor."),
    index: Optional[Path] = IndexOpt,
    occasion: Optional[str] = OccasionOpt,
    n: int = typer.Option(3, "-n", "--outfits", min=1, max=20, metavar="N", help="How many distinct outfits."),
    budget: Optional[float] = typer.Option(None, "--budget", min=0.01, metavar="AMOUNT",
                                           help="What the added pieces of one look may cost together (the "
                                                "profile's budget still caps each piece)."),
    include_out_of_stock: bool = typer.Option(False, "--include-out-of-stock",
                                              help="Also use pieces the catalog marks out of stock."),
    slots: Optional[Path] = SlotsOpt,
    sheet: Optional[Path] = SheetOpt,
    no_profile: bool = NoProfileOpt,
    runtime: Optional[str] = RuntimeOpt,
    json_mode: bool = JsonOpt,
) -> None:
    """Complete the look: build outfits from other garment groups around an anchor piece.

    Each look shows its pieces' prices and their total; --budget caps that total. The personal profile
    applies to every piece: budget (per piece) and size are hard limits, avoided values are left out
    unless the anchor has them, preferred values and brands rank first. A slot left empty says which
    rule emptied it.

    Examples:
    fashrec outfit shirt.jpg
    fashrec outfit shirt.jpg --occasion formal -n 2 --budget 150
    fashrec outfit --id sku-1001 --sheet looks.png
    """
    with handled(json_mode):
        definition = load_definition(slots) if slots else None
        profile = load_profile_unless(no_profile)
        idx = open_index_for(index)
        encoder = query_encoder(idx, runtime)
        anchor = anchor_for(idx, encoder, image, product_id)
        composer = OutfitComposer(idx, encoder, definition=definition)
        limits = profile_limits(profile, idx, anchor) if profile else None
        result = composer.compose(anchor, occasion=occasion, n=n, include_out_of_stock=include_out_of_stock,
                                  profile=limits, budget=budget)
        data = result.to_dict()
        if sheet:
            from fashrec.cli.sheet import write_outfit_sheet  # deferred: PIL's drawing and rich, only for --sheet

            note(f"sheet: {literal(write_outfit_sheet(sheet, data, image))}")
        emit(data, json_mode=json_mode, render=lambda: renderer().render_outfits(data))


