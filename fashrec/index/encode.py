"""Index layer, build step 2: embed what is new or changed (image and text vectors), reporting bad images."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from fashrec.catalog import Product
from fashrec.encoder import load_encoder
from fashrec.errors import CatalogError
from fashrec.index.report import IndexReport

# (id, image digest, text digest, metadata, image vector, text vector): one row of the item store.
EncodedRow = tuple[str, str, str, dict[str, Any], np.ndarray, np.ndarray]


def encode_changes(to_encode: list[tuple[Product, str, str]], spec: str, known_ids: set[str], catalog: Path,
                   report: IndexReport, *, strict: bool, batch_size: int,
                   advance: Callable[[int], None] | None) -> tuple[list[EncodedRow], int]:
    """The rows of the items to (re-)encode, and the encoder's dimension; a bad image is skipped and
    reported with file, line and field (or raised with ``strict``)."""
    encoder = load_encoder(spec)
    image_vecs, failures = encoder.encode_images_lenient(
        [p.image_path for p, _, _ in to_encode], batch_size=batch_size, progress=advance)
    text_vecs = encoder.encode_texts([p.text() for p, _, _ in to_encode]) if to_encode else None
    rows: list[EncodedRow] = []
    for i, (product, image_digest, text_digest) in enumerate(to_encode):
        if i in failures:
            err = CatalogError(failures[i].message, path=str(catalog), line=product.line, field="image")
            err.item_id = product.id
            if strict:
                raise err
            report.skipped.append(err)
            continue
        rows.append((product.id, image_digest, text_digest, product.metadata(), image_vecs[i], text_vecs[i]))
        if product.id in known_ids:
            report.updated += 1
        else:
            report.added += 1
    return rows, encoder.dimension
