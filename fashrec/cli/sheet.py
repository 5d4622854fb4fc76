"""CLI layer: contact sheets: the anchor and the results as labelled thumbnails in one PNG.

People choosing clothes would rather look than read; this is the picture behind ``--sheet``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from fashrec.catalog.images import load_rgb
from fashrec.errors import ImageError

THUMB_W, THUMB_H = 120, 160
LABEL_H = 44
PAD = 8


@dataclass
class Tile:
    image: Path | None
    lines: list[str]
    highlight: bool = False


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the fixed bitmap font
        return ImageFont.load_default()


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


def make_sheet(tiles: list[Tile], out: str | Path, *, title: str = "", columns: int = 6) -> Path:
    """Write a PNG grid of ``tiles`` (anchor first, highlighted) and return its path."""
    out = Path(out)
    columns = max(1, min(columns, len(tiles) or 1))
    rows = (len(tiles) + columns - 1) // columns or 1
    header = 28 if title else 0
    width = PAD + columns * (THUMB_W + PAD)
    height = header + PAD + rows * (THUMB_H + LABEL_H + PAD)
    sheet = Image.new("RGB", (width, height), (245, 245, 245))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((PAD, 6), title[:120], fill="black", font=_font(14))
    small = _font(10)
    for i, tile in enumerate(tiles):
        x = PAD + (i % columns) * (THUMB_W + PAD)
        y = header + PAD + (i // columns) * (THUMB_H + LABEL_H + PAD)
        sheet.paste(_thumbnail(tile.image), (x, y))
        if tile.highlight:
            draw.rectangle([x - 2, y - 2, x + THUMB_W + 1, y + THUMB_H + 1], outline=(220, 40, 40), width=2)
        for j, line in enumerate(tile.lines[:3]):
            draw.text((x, y + THUMB_H + 2 + j * 13), line[:24], fill="black", font=small)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, format="PNG")
    return out
