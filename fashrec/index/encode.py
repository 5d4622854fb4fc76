"""Index layer, build step 2: embed what is new or changed (image and text vectors), reporting bad images;
then make sure queries can run without torch (a verified ONNX export of the encoder).

The embedding itself is done by an engine: :class:`LocalEngine` (this process, the default) or
:class:`fashrec.index.ray_engine.RayEngine` (a Ray Data pipeline on a local runtime or a cluster).
Every engine answers the same question -- vectors by position plus, per bad image, why -- so what is
stored and what is reported does not depend on where the encoding ran.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from fashrec.catalog import Product
from fashrec.catalog.images import load_rgb
from fashrec.encoder import load_encoder
from fashrec.encoder.onnx_export import ensure_export
from fashrec.errors import CatalogError, ImageError
from fashrec.index.report import IndexReport

# (id, image digest, text digest, metadata, image vector, text vector): one row of the item store.
EncodedRow = tuple[str, str, str, dict[str, Any], np.ndarray, np.ndarray]


@dataclass
class Encoded:
    """What an engine returns: row ``i`` of both matrices belongs to input ``i``; ``failures[i]`` says
    why image ``i`` could not be used (its row is then meaningless)."""

    image_vecs: np.ndarray
    text_vecs: np.ndarray
    failures: dict[int, str]
    dimension: int
    details: dict[str, Any] = field(default_factory=dict)   # how it ran (engine, workers, seconds), for the report


class Engine(Protocol):
    name: str

    def encode(self, images: list[Path], texts: list[str], spec: str, *, batch_size: int,
               advance: Callable[[int], None] | None) -> Encoded: ...


class LocalEngine:
    """Encode in this process with the encoder the index records."""

    name = "local"

    def encode(self, images: list[Path], texts: list[str], spec: str, *, batch_size: int,
               advance: Callable[[int], None] | None) -> Encoded:
        encoder = load_encoder(spec)
        started = time.perf_counter()
        image_vecs, failures = encoder.encode_images_lenient(images, batch_size=batch_size, progress=advance)
        text_vecs = encoder.encode_texts(texts) if texts else np.zeros((0, encoder.dimension), np.float32)
        return Encoded(image_vecs, text_vecs, {i: e.message for i, e in failures.items()}, encoder.dimension,
                       {"engine": self.name, "images": len(images), "seconds": round(time.perf_counter() - started, 3)})


def encode_changes(to_encode: list[tuple[Product, str, str]], spec: str, known_ids: set[str], catalog: Path,
                   report: IndexReport, *, strict: bool, batch_size: int,
                   advance: Callable[[int], None] | None, engine: Engine | None = None,
                   ) -> tuple[list[EncodedRow], int]:
    """The rows of the items to (re-)encode, and the encoder's dimension; a bad image is skipped and
    reported with file, line and field (or raised with ``strict``)."""
    engine = engine or LocalEngine()
    encoded = engine.encode([p.image_path for p, _, _ in to_encode], [p.text() for p, _, _ in to_encode], spec,
                            batch_size=batch_size, advance=advance)
    report.engine = encoded.details
    rows: list[EncodedRow] = []
    for i, (product, image_digest, text_digest) in enumerate(to_encode):
        if i in encoded.failures:
            err = CatalogError(encoded.failures[i], path=str(catalog), line=product.line, field="image")
            err.item_id = product.id
            if strict:
                raise err
            report.skipped.append(err)
            continue
        rows.append((product.id, image_digest, text_digest, product.metadata(), encoded.image_vecs[i],
                     encoded.text_vecs[i]))
        if product.id in known_ids:
            report.updated += 1
        else:
            report.added += 1
    return rows, encoded.dimension


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
