"""Index layer, build step 1: what changed in the catalog since the published generation.

Changes are found by content hashes of the image bytes and of the item text, so only new or changed
items are encoded; an item whose metadata alone changed (a price, the stock) is updated without
re-encoding; removals wait when some catalog line could not be read (it may hold those products).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from fashrec.catalog import CatalogLoad, Product
from fashrec.catalog.images import file_digest
from fashrec.errors import CatalogError
from fashrec.index.audit import StoredRow
from fashrec.index.report import IndexReport


@dataclass
class CatalogDiff:
    to_encode: list[tuple[Product, str, str]] = field(default_factory=list)   # (product, image, text digest)
    meta_only: list[Product] = field(default_factory=list)
    up_to_date: set[str] = field(default_factory=set)


def diff_catalog(products: list[Product], old_rows: dict[str, StoredRow], catalog: Path,
                 report: IndexReport) -> CatalogDiff:
    """Sort the catalog's products into to-encode, metadata-only and up-to-date (counted in ``report``)."""
    diff = CatalogDiff()
    for product in products:
        try:
            image_digest = file_digest(product.image_path)
        except OSError as exc:
            err = CatalogError(f"image unreadable: {exc}", path=str(catalog), line=product.line, field="image")
            err.item_id = product.id
            report.skipped.append(err)
            continue
        text_digest = product.text_digest()
        previous = old_rows.get(product.id)
        if previous and previous[0] == image_digest and previous[1] == text_digest:
            if previous[2] == json.dumps(product.metadata(), ensure_ascii=False):
                report.unchanged += 1
                diff.up_to_date.add(product.id)
            else:
                diff.meta_only.append(product)
        else:
            diff.to_encode.append((product, image_digest, text_digest))
    report.metadata_updated = len(diff.meta_only)
    return diff


def plan_removals(load: CatalogLoad, old_rows: dict[str, StoredRow], diff: CatalogDiff, encoded_ids: set[str],
                  report: IndexReport) -> list[str]:
    """Ids to delete: gone from the catalog, and not a product whose line is now bad.

    Items whose line is now bad keep their previous version: a typo never deletes a product.
    """
    valid_ids = {p.id for p in load.products}
    bad_ids = {e.item_id for e in report.skipped if e.item_id}
    unknown_bad_lines = sum(1 for e in report.skipped if not e.item_id)
    # An id is "kept" only if its current line was unusable: a duplicate line of a product whose
    # first line is fine (unchanged, metadata-updated or re-encoded) is not a kept previous version.
    current_ids = encoded_ids | diff.up_to_date | {p.id for p in diff.meta_only}
    report.kept_previous = sum(1 for i in bad_ids if i in old_rows and i not in current_ids)
    removals = [i for i in old_rows if i not in valid_ids and i not in bad_ids]
    if removals and unknown_bad_lines:
        report.notes.append(
            f"{len(removals)} removal(s) postponed: {unknown_bad_lines} catalog line(s) could not be "
            "read, and they may hold those products")
        removals = []
    report.removed = len(removals)
    return removals
