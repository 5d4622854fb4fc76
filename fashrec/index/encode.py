"""Index layer, build step 2: embed what is new or changed (image and text vectors), reporting bad images;
then make sure queries can run without torch (a verified ONNX export of the encoder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from fashrec.catalog import Product
from fashrec.catalog.images import load_rgb
from fashrec.encoder import load_encoder
from fashrec.encoder.onnx_export import ensure_export
from fashrec.errors import CatalogError, ImageError
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


PROBES = 16  # catalog images and titles checked against torch, next to the exporter's own probes


def export_for_queries(spec: str, identifier: str, products: list[Product], report: IndexReport) -> None:
    """Export the encoder for torch-free queries once per encoder (kept in ``settings.exports_dir()``),
    verified on this catalog's own images and titles. It never fails the build: a model that cannot be
    exported keeps queries on torch, and the report says why. An index built before exports existed
    gains one here, on its next update, even when nothing else changed."""
    result = ensure_export(identifier, lambda: load_encoder(spec), probes=lambda: _probes(products))
    report.onnx = result.to_dict()
    if result.status == "exported":
        report.notes.append(f"encoder exported for torch-free queries ({result.folder}, "
                            f"min cosine to torch {result.verification['images']['min']:.6f}, {result.seconds:.1f}s)")
    elif not result.ok:
        report.notes.append(f"queries will use torch: the encoder cannot run on onnxruntime ({result.reason})")


def _probes(products: list[Product]) -> tuple[list, list[str]]:
    images, texts = [], []
    for product in products:
        if len(images) >= PROBES:
            break
        try:
            images.append(load_rgb(product.image_path))
        except ImageError:
            continue  # a bad image is the catalog's problem, reported by the encoding step
        texts.append(product.title or product.text())
    return images, texts
