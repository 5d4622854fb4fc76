"""Convert the public "Fashion Product Images (Small)" styles.csv into a fashrec JSONL catalog.

Usage: python bench/fashion_products_to_catalog.py STYLES_CSV IMAGES_DIR OUT.jsonl

Image paths are written absolute so the catalog can live anywhere (it is data, never committed).
The attribute names chosen here (category, color, gender, usage, season, group, subcategory, pattern)
are the ones the training recipe, the encoder evaluation and the refinement benchmark rely on.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path

# CSV column -> catalog attribute name.
ATTRIBUTE_COLUMNS = {
    "articleType": "category",
    "baseColour": "color",
    "gender": "gender",
    "usage": "usage",
    "season": "season",
    "masterCategory": "group",
    "subCategory": "subcategory",
}

# The CSV has no pattern column; the title sometimes says it. First matching word wins.
PATTERN_WORDS = {
    "striped": "striped", "stripes": "striped", "stripe": "striped",
    "check": "checked", "checked": "checked", "checks": "checked",
    "printed": "printed", "print": "printed",
    "solid": "solid",
    "floral": "floral",
    "polka": "dotted", "dots": "dotted", "dotted": "dotted",
}


def pattern_from_title(title: str) -> str | None:
    for word in re.findall(r"[a-z]+", title.lower()):
        if word in PATTERN_WORDS:
            return PATTERN_WORDS[word]
    return None


def row_to_product(row: dict[str, str], images_dir: Path) -> dict | None:
    """One CSV row -> one catalog object, or None when the row has no image."""
    pid = (row.get("id") or "").strip()
    if not pid:
        return None
    image = images_dir / f"{pid}.jpg"
    if not image.is_file():
        return None
    title = " ".join((row.get("productDisplayName") or "").split())
    attributes = {}
    for column, name in ATTRIBUTE_COLUMNS.items():
        value = " ".join((row.get(column) or "").split())
        if value and value.upper() != "NA":  # empty (or "NA") means unknown: leave the key out
            attributes[name] = value
    pattern = pattern_from_title(title)
    if pattern:
        attributes["pattern"] = pattern
    product = {"id": pid, "image": str(image.resolve()), "title": title, "attributes": attributes}
    year = (row.get("year") or "").strip()
    if year:
        product["year"] = year  # kept as an extra field; fashrec does not interpret it
    return product


def convert(csv_path: Path, images_dir: Path, out_path: Path) -> tuple[int, int]:
    """Write the catalog atomically; returns (products written, rows skipped)."""
    written = skipped = 0
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    with open(csv_path, newline="", encoding="utf-8") as src, open(tmp, "w", encoding="utf-8") as dst:
        for row in csv.DictReader(src):
            product = row_to_product(row, images_dir)
            if product is None:
                skipped += 1
                continue
            dst.write(json.dumps(product, ensure_ascii=False) + "\n")
            written += 1
    os.replace(tmp, out_path)
    return written, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="styles.csv")
    parser.add_argument("images_dir", type=Path, help="folder holding <id>.jpg")
    parser.add_argument("out", type=Path, help="output catalog (.jsonl)")
    args = parser.parse_args(argv)
    written, skipped = convert(args.csv, args.images_dir.expanduser(), args.out.expanduser())
    print(f"wrote {written} products to {args.out} ({skipped} rows skipped: no image)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
