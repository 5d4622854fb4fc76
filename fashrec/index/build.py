"""Building and incrementally updating an index from a catalog.

Only new or changed items are encoded (changes are detected by content hashes of the image bytes and
of the item text); deleted items are removed; price/stock edits update metadata without re-encoding.
Each run writes a new generation and publishes it with one atomic manifest replace, under a lock.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from fashrec import __version__
from fashrec.catalog import Product, load_catalog
from fashrec.catalog.images import file_digest
from fashrec.encoder import DEFAULT_MODEL, identify, load_encoder
from fashrec.errors import CatalogError, EncoderMismatchError, FashrecIndexError
from fashrec.index import ann, index_dir_for, items
from fashrec.index.lock import writer_lock
from fashrec.index.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Manifest,
    read_manifest,
    write_manifest,
)
from fashrec.settings import write_state

ProgressFactory = Callable[[str, int], "Callable[[int], None]"]


@dataclass
class IndexReport:
    index: str
    catalog: str
    encoder: str
    added: int = 0
    updated: int = 0
    metadata_updated: int = 0
    removed: int = 0
    unchanged: int = 0
    kept_previous: int = 0
    total: int = 0
    seconds: float = 0.0
    skipped: list[CatalogError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "index": self.index, "catalog": self.catalog, "encoder": self.encoder,
            "added": self.added, "updated": self.updated, "metadata_updated": self.metadata_updated,
            "removed": self.removed, "unchanged": self.unchanged, "kept_previous": self.kept_previous,
            "total": self.total, "seconds": round(self.seconds, 3),
            "skipped": [e.to_dict() for e in self.skipped], "notes": self.notes,
        }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _clean_strays(folder: Path, manifest: Manifest | None) -> None:
    """Remove files of generations that were never published (an interrupted earlier run)."""
    keep = {MANIFEST_NAME, ".lock"}
    if manifest:
        keep |= {manifest.items_file, manifest.vectors_file}
    for f in folder.iterdir():
        if f.is_file() and f.name not in keep and (
            f.name.startswith(("items-", "vectors-", ".manifest.json.")) or f.suffix == ".partial"
        ):
            f.unlink(missing_ok=True)


def _graph_intact(folder: Path, manifest: Manifest) -> bool:
    """Whether the published graph file exists and matches its checksum (vectors live in SQLite too,
    so a damaged graph is repaired by rebuilding it, not by re-encoding anything)."""
    path = folder / manifest.vectors_file
    if not path.is_file():
        return False
    expected = manifest.hnsw.get("crc32")
    return expected is None or ann.file_crc32(path) == expected


def build_index(
    catalog: str | Path,
    index_dir: str | Path | None = None,
    *,
    model: str | None = None,
    rebuild: bool = False,
    strict: bool = False,
    batch_size: int = 64,
    progress: ProgressFactory | None = None,
) -> IndexReport:
    """Create or update the index of ``catalog``. See the module docstring for the guarantees."""

    started = time.perf_counter()
    catalog = Path(catalog).expanduser()
    folder = Path(index_dir).expanduser() if index_dir else index_dir_for(catalog)
    load = load_catalog(catalog, strict=strict)
    if not load.products:
        if load.problems:
            first = load.problems[0]
            raise CatalogError(f"no valid products in {catalog} ({len(load.problems)} bad lines; first: "
                               f"{first.message})")
        raise CatalogError(f"catalog is empty: {catalog}")

    with writer_lock(folder):
        # `current` is what readers see now; `old` is what this run builds on (nothing with --rebuild).
        current = None
        if (folder / MANIFEST_NAME).exists():
            try:
                current = read_manifest(folder)
            except FashrecIndexError:
                if not rebuild:
                    raise
        old = None if rebuild else current
        _clean_strays(folder, current)

        # --rebuild without --model keeps the index's encoder (it repairs, it does not switch).
        spec = model or (current.encoder["spec"] if current else DEFAULT_MODEL)
        identifier = identify(spec)
        if old and old.encoder.get("identifier") != identifier:
            raise EncoderMismatchError(
                f"index at {folder} was built with encoder '{old.encoder.get('identifier')}', "
                f"not '{identifier}': one index never mixes encoders",
                hint=f"rebuild it for the new encoder: fashrec index {catalog} --rebuild"
                     + (f" --model {model}" if model else ""),
            )
        report = IndexReport(index=str(folder), catalog=str(catalog), encoder=identifier,
                             skipped=list(load.problems))

        old_rows: dict[str, tuple[str, str, str]] = {}
        old_items_path = folder / old.items_file if old else None
        if old_items_path:
            conn = items.connect(old_items_path, readonly=True)
            try:
                old_rows = {r[0]: (r[1], r[2], r[3]) for r in
                            conn.execute("SELECT id, image_digest, text_digest, meta FROM items")}
            except sqlite3.DatabaseError as exc:
                raise FashrecIndexError(f"index item store is corrupt: {old_items_path} ({exc})",
                                        hint=f"rebuild it with: fashrec index {catalog} --rebuild") from exc
            finally:
                conn.close()

        # What changed since the last generation?
        to_encode: list[tuple[Product, str, str]] = []
        meta_only: list[Product] = []
        up_to_date: set[str] = set()
        for product in load.products:
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
                    up_to_date.add(product.id)
                else:
                    meta_only.append(product)
            else:
                to_encode.append((product, image_digest, text_digest))

        encoded_rows = []
        dimension = old.encoder["dimension"] if old else None
        if to_encode or not old:
            encoder = load_encoder(spec)
            dimension = encoder.dimension
            advance = progress("Encoding images", len(to_encode)) if progress else None
            image_vecs, failures = encoder.encode_images_lenient(
                [p.image_path for p, _, _ in to_encode], batch_size=batch_size, progress=advance)
            text_vecs = encoder.encode_texts([p.text() for p, _, _ in to_encode]) if to_encode else None
            for i, (product, idg, tdg) in enumerate(to_encode):
                if i in failures:
                    err = CatalogError(failures[i].message, path=str(catalog), line=product.line, field="image")
                    err.item_id = product.id
                    if strict:
                        raise err
                    report.skipped.append(err)
                    continue
                encoded_rows.append((product.id, idg, tdg, product.metadata(), image_vecs[i], text_vecs[i]))
                if product.id in old_rows:
                    report.updated += 1
                else:
                    report.added += 1

        # Items whose line is now bad keep their previous version: a typo never deletes a product.
        valid_ids = {p.id for p in load.products}
        bad_ids = {e.item_id for e in report.skipped if e.item_id}
        unknown_bad_lines = sum(1 for e in report.skipped if not e.item_id)
        # An id is "kept" only if its current line was unusable: a duplicate line of a product whose
        # first line is fine (unchanged, metadata-updated or re-encoded) is not a kept previous version.
        current_ids = {r[0] for r in encoded_rows} | up_to_date | {p.id for p in meta_only}
        report.kept_previous = sum(1 for i in bad_ids if i in old_rows and i not in current_ids)
        removals = [i for i in old_rows if i not in valid_ids and i not in bad_ids]
        if removals and unknown_bad_lines:
            report.notes.append(
                f"{len(removals)} removal(s) postponed: {unknown_bad_lines} catalog line(s) could not be "
                "read, and they may hold those products")
            removals = []
        report.removed = len(removals)
        report.metadata_updated = len(meta_only)

        graph_damaged = bool(old) and not _graph_intact(folder, old)
        if graph_damaged:
            report.notes.append("the vector graph was missing or damaged: rebuilt from the stored vectors")
        if old and not (encoded_rows or removals or meta_only or graph_damaged):
            report.total = old.count
            report.seconds = time.perf_counter() - started
            report.notes.append("index already up to date")
            _remember(folder)
            return report

        generation = (current.generation + 1) if current else 1
        new_items = folder / f"items-{generation}.sqlite"
        new_vectors = folder / f"vectors-{generation}.hnsw"
        partial_items = new_items.with_name(new_items.name + ".partial")
        partial_vectors = new_vectors.with_name(new_vectors.name + ".partial")
        try:
            if old_items_path:
                shutil.copyfile(old_items_path, partial_items)
            conn = items.connect(partial_items)
            try:
                items.migrate(conn)
                with conn:
                    items.delete_ids(conn, removals)
                    items.upsert(conn, encoded_rows)
                    items.update_meta(conn, [(p.id, p.metadata()) for p in meta_only])
                loaded = items.load_all(conn, int(dimension))
            finally:
                conn.close()
            # Labels in the graph are row positions, so rebuild it over the final row order.
            graph = ann.build_hnsw(loaded.image_vecs)
            graph.save_index(str(partial_vectors))
            vectors_crc32 = ann.file_crc32(partial_vectors)
            partial_items.replace(new_items)
            partial_vectors.replace(new_vectors)
            now = _now()
            manifest = Manifest(
                schema_version=SCHEMA_VERSION,
                encoder={"spec": spec, "identifier": identifier, "dimension": int(dimension)},
                generation=generation,
                items_file=new_items.name,
                vectors_file=new_vectors.name,
                count=len(loaded.metas),
                catalog=str(catalog.resolve()),
                hnsw={"M": ann.HNSW_M, "ef_construction": ann.HNSW_EF_CONSTRUCTION, "ef": ann.HNSW_EF_SEARCH,
                      "crc32": vectors_crc32},
                created_at=old.created_at if old else now,
                updated_at=now,
                fashrec_version=__version__,
            )
            write_manifest(folder, manifest)  # the one atomic step that publishes the new generation
        except BaseException:
            for f in (partial_items, partial_vectors, new_items, new_vectors):
                f.unlink(missing_ok=True)
            raise
        if current:
            for name in (current.items_file, current.vectors_file):
                if name not in (manifest.items_file, manifest.vectors_file):
                    (folder / name).unlink(missing_ok=True)
        report.total = manifest.count
        report.seconds = time.perf_counter() - started
        _remember(folder)
        return report


def _remember(folder: Path) -> None:

    try:
        write_state(last_index=str(folder.resolve()))
    except OSError:
        pass  # remembering is a convenience; a read-only home must not fail indexing
