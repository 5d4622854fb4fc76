"""CLI layer: contact sheets: the anchor and the results as labelled thumbnails in one PNG.

People choosing clothes would rather look than read; this is the picture behind ``--sheet``. Like the
text renderer it draws from the JSON documents the commands print. Captions are fitted by measured text
width (wrapped, then cut with an ellipsis), so a long title never runs into the next tile; the top of the
sheet says what was asked, what was read from the anchor (with confidence, and what the shopper
corrected) and, for a short answer, how short it is. Near misses (``alternatives``) are a section of their
own below the results, under their own heading, each tile saying what it lacks. The PNG also carries its
text (a ``Description`` text chunk: the header, the section headings, the tiles' titles), for readers
that cannot see it and for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from fashrec.catalog.images import load_rgb
from fashrec.cli.render import (
    anchor_words,
    marker_of,
    plan_words,
    price_text,
    relaxed_words,
    total_text,
    unlike_words,
)
from fashrec.errors import ImageError, UsageError

THUMB_W, THUMB_H = 150, 190
PAD = 10
LINE_H = 14
CAPTION_LINES = 4          # title (up to 2 lines), price and stock, id
MARKER_COLOURS = {"relaxed": (214, 120, 0), "alternative": (150, 60, 170)}
ELLIPSIS = "…"
ALTERNATIVES_HEADING = "Alternatives (not matches: each lacks something)"


@dataclass
class Tile:
    image: Path | None
    title: str = ""
    details: list[str] = field(default_factory=list)
    marker: str = ""
    highlight: bool = False


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


def _width(draw: ImageDraw.ImageDraw, text: str, font) -> float:
    return draw.textlength(text, font=font)


def fit(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> str:
    """``text`` cut with an ellipsis so that it is at most ``width`` pixels wide."""
    if _width(draw, text, font) <= width:
        return text
    low, high = 0, len(text)
    while low < high:   # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if _width(draw, text[:mid].rstrip() + ELLIPSIS, font) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ELLIPSIS


def wrap(draw: ImageDraw.ImageDraw, text: str, font, width: float, max_lines: int) -> list[str]:
    """Word-wrap ``text`` to ``width`` pixels in at most ``max_lines`` lines; the last is ellipsized."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and _width(draw, f"{line} {words[0]}", font) <= width:
            line += " " + words.pop(0)
        lines.append(line)
    if words or (lines and _width(draw, lines[-1], font) > width):
        lines[-1] = fit(draw, " ".join([lines[-1]] + words), font, width)
    return lines


def _thumbnail(path: Path | None) -> Image.Image:
    canvas = Image.new("RGB", (THUMB_W, THUMB_H), "white")
    if path is None:
        return canvas
    try:
        im = load_rgb(path)
    except ImageError:
        ImageDraw.Draw(canvas).text((8, THUMB_H // 2), "image missing", fill="red", font=_font(11))
        return canvas
    im.thumbnail((THUMB_W, THUMB_H))
    canvas.paste(im, ((THUMB_W - im.width) // 2, (THUMB_H - im.height) // 2))
    return canvas


def _draw_tile(sheet: Image.Image, draw: ImageDraw.ImageDraw, tile: Tile, x: int, y: int) -> None:
    sheet.paste(_thumbnail(tile.image), (x, y))
    if tile.highlight:
        draw.rectangle([x - 2, y - 2, x + THUMB_W + 1, y + THUMB_H + 1], outline=(220, 40, 40), width=2)
    small, bold = _font(11), _font(12)
    if tile.marker:   # a badge on the picture: it must not be missed, and it costs no caption line
        colour = MARKER_COLOURS.get(tile.marker, (214, 120, 0))
        label = fit(draw, tile.marker, small, THUMB_W - 8)
        draw.rectangle([x, y, x + _width(draw, label, small) + 8, y + LINE_H + 2], fill=colour)
        draw.text((x + 4, y + 1), label, fill="white", font=small)
    lines = wrap(draw, tile.title, bold, THUMB_W, 2) if tile.title else []
    for j, line in enumerate(lines):
        draw.text((x, y + THUMB_H + 3 + j * LINE_H), line, fill="black", font=bold)
    for j, line in enumerate(tile.details[:CAPTION_LINES - len(lines)], start=len(lines)):
        draw.text((x, y + THUMB_H + 3 + j * LINE_H), fit(draw, line, small, THUMB_W), fill=(70, 70, 70), font=small)


def make_sheet(tiles: list[Tile], out: str | Path, *, header: list[str] | None = None, columns: int = 5,
               apart: tuple[str, list[Tile]] | None = None) -> Path:
    """Write a PNG grid of ``tiles`` under ``header`` (its first line bold) and return its path.
    ``apart``: (heading, tiles) drawn below them from a fresh row, under that heading."""
    out = Path(out)
    label, extra = apart if apart and apart[1] else ("", [])
    columns = max(1, min(columns, max(len(tiles), len(extra)) or 1))
    rows, extra_rows = _rows(len(tiles), columns) or (0 if extra else 1), _rows(len(extra), columns)
    width = PAD + columns * (THUMB_W + PAD)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    fonts = [_font(15)] + [_font(12)] * max(0, len(header or []) - 1)
    head = [(line, font) for text, font in zip(header or [], fonts)
            for line in wrap(measure, text, font, width - 2 * PAD, 3)]
    top = PAD + sum(LINE_H + (4 if font is fonts[0] else 2) for _, font in head)
    cell_h = THUMB_H + CAPTION_LINES * LINE_H + 6 + PAD
    heading_h = LINE_H + 8 if extra else 0
    sheet = Image.new("RGB", (width, top + (rows + extra_rows) * cell_h + heading_h), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    y = PAD // 2
    for line, font in head:
        draw.text((PAD, y), line, fill="black", font=font)
        y += LINE_H + (4 if font is fonts[0] else 2)
    for i, tile in enumerate(tiles):
        _draw_tile(sheet, draw, tile, PAD + (i % columns) * (THUMB_W + PAD), top + (i // columns) * cell_h)
    if extra:   # near misses apart: a rule, the heading, then their own rows
        y = top + rows * cell_h
        draw.line([PAD, y, width - PAD, y], fill=MARKER_COLOURS["alternative"], width=2)
        draw.text((PAD, y + 4), fit(draw, label, _font(13), width - 2 * PAD), fill=MARKER_COLOURS["alternative"],
                  font=_font(13))
        for i, tile in enumerate(extra):
            _draw_tile(sheet, draw, tile, PAD + (i % columns) * (THUMB_W + PAD),
                       y + heading_h + (i // columns) * cell_h)
    _save(sheet, out, _description(header or [], tiles, label, extra))
    return out


def _rows(n: int, columns: int) -> int:
    return (n + columns - 1) // columns


def _description(header: list[str], tiles: list[Tile], label: str, extra: list[Tile]) -> str:
    """The sheet's text, in reading order: header lines, then each section's tiles."""
    lines = [*header, *(f"- {t.title}" for t in tiles if t.title)]
    if extra:
        lines += [label, *(f"- {t.title}" + (f" ({t.details[0]})" if t.details else "") for t in extra)]
    return "\n".join(lines)


def _save(sheet: Image.Image, out: Path, description: str) -> None:
    info = PngInfo()
    info.add_itxt("Description", description)   # iTXt: UTF-8, so titles in any language survive
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(out, format="PNG", pnginfo=info)
    except OSError as exc:
        raise UsageError(f"cannot write the sheet {out}: {exc.strerror or exc}") from None


# --- sheets from the commands' JSON documents -----------------------------------------------------

def product_tile(rank: int | None, item: dict[str, Any], marker: str = "") -> Tile:
    price = price_text(item) or "no price"
    stock = "" if item.get("in_stock") is False else " · in stock" if item.get("in_stock") else ""
    title = f"{rank}. {item.get('title') or item['id']}" if rank is not None else (item.get("title") or item["id"])
    details = [price + stock, item["id"]]
    if item.get("lacks"):   # a near miss says first what it lacks: it must not pass for a match
        details.insert(0, "lacks " + ", ".join(item["lacks"]))
    elif unlike := unlike_words(item):   # a relaxed row: what it does not share with the anchor's given-up look
        details.insert(0, unlike)
    return Tile(Path(item["image"]) if item.get("image") else None, title, details, marker or marker_of(item))


def sheet_header(title: str, data: dict[str, Any]) -> list[str]:
    """The top of a sheet: what was asked, what was read from the anchor, how the words were understood."""
    lines = [title]
    query = data.get("query") or {}
    if query.get("text"):
        lines.append(f"Request: \"{query['text']}\"")
    anchor = data.get("anchor") or {}
    if anchor.get("attributes"):   # what was read (with confidence), what the shopper corrected
        source = f"catalog {anchor['catalog_id']}" if anchor.get("catalog_id") else "read from the photo"
        lines.append(f"Anchor ({source}): " + anchor_words(anchor))
    if query.get("photo"):   # search --image: what the photo shows, which only ranks
        lines.append("Photo (not filtered on): " + anchor_words(query["photo"]))
    constraints = (data.get("session") or {}).get("constraints")
    plan = data.get("plan") or query.get("understood")
    if constraints:   # a conversation: everything asked so far, not only the last words
        lines.append("Constraints: " + ", ".join(constraints))
    elif plan and plan_words(plan):
        lines.append("Understood: " + plan_words(plan))
    lines += [f"Took way forward {t['number']}: {t['message']}" for t in query.get("relaxed") or []]
    if relaxed := relaxed_words(data):
        lines.append(relaxed)
    short = data.get("shortfall")
    if short:
        lines.append(f"{short['message'][:1].upper()}{short['message'][1:]} (you asked for {short['wanted']})")
    return lines


def write_sheet(path: Path, data: dict[str, Any], *, anchor: Path | None, title: str) -> Path:
    """The anchor (highlighted), the results in order, then any alternatives (marked as such)."""
    tiles = [Tile(anchor, "anchor", [anchor.name], highlight=True)] if anchor else []
    offset = (data.get("query") or {}).get("offset") or 0
    tiles += [product_tile(rank, r) for rank, r in enumerate(data["results"], start=offset + 1)]
    apart = [product_tile(None, r, "alternative") for r in data.get("alternatives") or []]
    return make_sheet(tiles, path, header=sheet_header(title, data), apart=(ALTERNATIVES_HEADING, apart))


def write_outfit_sheet(path: Path, data: dict[str, Any], anchor_image: Path | None) -> Path:
    """One row per outfit: the anchor (highlighted, with the look's total), then its pieces."""
    anchor_path = anchor_image or (Path(data["anchor"]["image"]) if data["anchor"].get("image") else None)
    width = 1 + max((len(o["pieces"]) for o in data["outfits"]), default=0)
    tiles: list[Tile] = []
    for number, outfit in enumerate(data["outfits"], start=1):
        row = [Tile(anchor_path, f"outfit {number}", [f"total {total_text(outfit['total'])}",
                                                       f"score {outfit['score']:.3f}"], highlight=True)]
        row += [Tile(Path(p["image"]), p.get("title") or p["id"], [price_text(p) or "no price", p["slot"]])
                for p in outfit["pieces"]]
        tiles += row + [Tile(None) for _ in range(width - len(row))]
    if not tiles:
        tiles = [Tile(anchor_path, "anchor", ["no outfit"], highlight=True)]
    traits = data["anchor"]["traits"]
    described = " · ".join(str(traits[k]) for k in ("category", "gender", "color", "season") if traits.get(k))
    header = ["Complete the look", f"Anchor: {described}"]
    if data.get("budget") is not None:
        header.append(f"Budget: {data['budget']:g} for the added pieces of a look")
    return make_sheet(tiles, path, header=header, columns=max(width, 1))
