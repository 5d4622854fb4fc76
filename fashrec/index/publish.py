"""Index layer, build step 3: write a new generation beside the published one, then publish it.

The new item store and graph are written as ``*.partial`` files, renamed, and published by one atomic
replace of the manifest; readers only ever follow the manifest, so they never see a half-written
generation, and a killed run leaves the previous one readable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec import __version__, settings
from fashrec.encoder.interface import Encoder
from fashrec.errors import FashrecIndexError
from fashrec.index import ann, columns, items, mapped, ownership
from fashrec.index.audit import graph_problem
from fashrec.index.encode import EncodedRow
from fashrec.index.lance_store import LanceChanges, write_lance
from fashrec.index.lance_versions import prune_versions
from fashrec.index.lock import WriterLock
from fashrec.index.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Manifest,
    read_manifest,
    write_manifest,
)
from fashrec.index.stores import StoreSpec


@dataclass
class Changes:
    """What the new generation changes in the one it builds on."""

    rows: list[EncodedRow]                     # new and re-encoded items
    removals: list[str]                        # ids to delete
    metadata: list[tuple[str, dict]]           # (id, metadata) of items whose metadata alone changed


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clean_strays(lock: WriterLock, manifest: Manifest | None) -> list[str]:
    """Remove what an interrupted earlier run recorded and left behind; return the names of files that
    look like a generation's but that nothing records (left alone: they may be the user's)."""
    keep = manifest_files(manifest)
    ownership.remove_recorded(lock.folder, lock.leftovers, keep)
    lock.record([])
    return ownership.unrecorded(lock.folder, keep)


def manifest_files(manifest: Manifest | None) -> set[str]:
    return {MANIFEST_NAME, *manifest.files()} if manifest else {MANIFEST_NAME}


def _retain(current: Manifest | None) -> list[dict]:
    """What the next manifest keeps on disk besides its own generation: the one published now, so a
    reader that has just read the current manifest still finds its files (readers retry once more)."""
    if current is None:
        return []
    kept = {"generation": current.generation, "items_file": current.items_file, "vectors_file": current.vectors_file}
    return [{**kept, "mapped_file": current.mapped_file} if current.mapped_file else kept]


def publish(lock: WriterLock, current: Manifest | None, old: Manifest | None, changes: Changes, *,
            encoder: dict, catalog: Path, prompt_encoder: Callable[[], Encoder | None] | None = None,
            store: StoreSpec | None = None, notes: list[str] | None = None) -> Manifest:
    """Write and publish the next generation; ``old`` is what it builds on (None: from scratch).
    ``prompt_encoder`` embeds the attribute prompts stored in the mapped file (see columns.derive);
    ``store`` lance also brings its Lance table to the new generation before the manifest names it."""
    where = lock.folder
    generation = ownership.free_generation(where, (current.generation + 1) if current else 1)
    names = ownership.generation_names(generation)
    retained = _retain(current)
    kept = {n for r in retained for n in (r["items_file"], r["vectors_file"], r.get("mapped_file")) if n}
    retired = manifest_files(current) - {MANIFEST_NAME} - kept
    check_free_space(where, old, len(changes.rows), int(encoder["dimension"]))
    # Recorded before anything is created: a run killed from here on leaves only files its lock names.
    lock.record([*names.values(), *retired])
    try:
        written = _Writing(where, old, names, int(encoder["dimension"]), str(encoder["identifier"]), prompt_encoder,
                           graph=store is None or store.kind == "local")
        count, crc32 = written.write(changes)
        record = _store_record(store, where, old, changes, written.loaded, int(encoder["dimension"]), notes)
        stamp = now()
        manifest = Manifest(
            schema_version=SCHEMA_VERSION, encoder=encoder, generation=generation, items_file=names["items"],
            vectors_file=names["vectors"], count=count, catalog=str(catalog.resolve()),
            hnsw={"M": ann.default_m(count), "ef_construction": ann.HNSW_EF_CONSTRUCTION, "ef": ann.default_ef(count),
                  "crc32": crc32},
            created_at=old.created_at if old else stamp, updated_at=stamp, fashrec_version=__version__,
            retained=retained, mapped_file=names["mapped"], store=record,
        )
        write_manifest(where, manifest, temp_name=names["manifest_temp"])  # the one atomic step that publishes
    except BaseException as exc:
        if not _is_published(where, generation):   # interrupted right after the swap: it stands
            ownership.remove_recorded(where, names.values(), keep=())
        with contextlib.suppress(FashrecIndexError):   # a disk too full for the record: the error above matters
            lock.record(retired)
        if isinstance(exc, (OSError, sqlite3.Error)):
            raise write_failed(where, exc) from exc
        raise
    ownership.remove_recorded(where, retired, keep=manifest_files(manifest))
    lock.record([])
    if record:   # published: now the Lance versions no manifest names may go
        prune_versions(record, current.store if current else None, where, notes if notes is not None else [])
    return manifest


def _store_record(store: StoreSpec | None, folder: Path, old: Manifest | None, changes: Changes,
                  loaded: items.LoadedItems, dimension: int, notes: list[str] | None) -> dict:
    """The manifest's ``store`` field: {} for the local store; for lance, its table brought to this
    generation first (a failure there publishes nothing: the manifest still names the old version)."""
    if store is None or store.kind == "local":
        return {}
    lance_changes = LanceChanges(list(changes.removals), [r[0] for r in changes.rows] + [i for i, _ in changes.metadata])
    return write_lance(store, folder, old.store if old else None, old.count if old else 0, lance_changes, loaded, dimension,
                       notes if notes is not None else [])


def write_failed(where: Path, exc: BaseException) -> FashrecIndexError:
    """A write that failed (a full disk, a file-size limit, a read-only folder) as a clear error."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return FashrecIndexError(f"could not write the index at {where} ({reason}): nothing new was published, "
                             "the previous generation is still published and readable",
                             hint="free some disk space (or fix the folder's permissions), then run the "
                                  "command again")


# Bytes per item, beyond its vectors, that the estimate allows for: the metadata JSON, two hex digests,
# the id and SQLite's page overhead (fashion-products rows measured about 600 B), and the graph's links
# (at the larger M a large graph gets: an upper bound for any size).
ROW_OVERHEAD = 1024
GRAPH_OVERHEAD = 2 * ann.HNSW_M_LARGE * 4 + 64
MAPPED_OVERHEAD = 256  # the mapped file per item beyond both vectors: postings, columns, id and digest tables


def check_free_space(where: Path, old: Manifest | None, new_rows: int, dimension: int) -> None:
    """Refuse before writing when the next generation clearly cannot fit (an estimate with a margin:
    the copy of the item store, the new rows, the graph and SQLite's journal)."""
    old_bytes = (where / old.items_file).stat().st_size if old and (where / old.items_file).is_file() else 0
    rows = (old.count if old else 0) + new_rows
    needed = int(1.1 * (old_bytes + new_rows * (2 * 4 * dimension + ROW_OVERHEAD)
                        + rows * (4 * dimension + GRAPH_OVERHEAD)
                        + rows * (2 * 4 * dimension + MAPPED_OVERHEAD))) + (1 << 20)
    usage = shutil.disk_usage(where)
    if usage.free < needed:
        raise FashrecIndexError(
            f"not enough free space to update the index at {where}: about {needed / 1e6:.1f} MB needed, "
            f"{usage.free / 1e6:.1f} MB free",
            hint="free some disk space (the next successful run also removes the previous generation), or "
                 "index into a folder on another disk with --index DIR")


def _is_published(where: Path, generation: int) -> bool:
    try:
        return read_manifest(where).generation == generation
    except FashrecIndexError:
        return False


class _Writing:
    """One new generation's files, each written as a partial file, proven complete, then renamed: the
    item store (a copy of the old one, changed), its graph, and the mapped file queries read (vectors,
    catalog-wide facts, prompt tables)."""

    def __init__(self, folder: Path, old: Manifest | None, names: dict[str, str], dimension: int,
                 identifier: str, prompt_encoder: Callable[[], Encoder | None] | None, *, graph: bool = True) -> None:
        self.folder, self.old, self.names, self.dimension = folder, old, names, dimension
        self.graph = graph   # False: the store searches its own index (lance), the graph is left empty
        self.identifier, self.prompt_encoder = identifier, prompt_encoder
        self.partials = {part: folder / names[f"{part}_partial"] for part in ("items", "vectors", "mapped")}

    def write(self, changes: Changes) -> tuple[int, int]:
        """(item count, graph crc32)."""
        items_path = self.partials["items"]
        if self.old:
            shutil.copyfile(self.folder / self.old.items_file, items_path)
        conn = items.connect(items_path)
        try:
            items.migrate(conn)
            with conn:
                items.delete_ids(conn, changes.removals)
                items.upsert(conn, changes.rows)
                items.update_meta(conn, changes.metadata)
                items.seal(conn)   # rows older than checksums: the audit has just vouched for them
            loaded = items.load_all(conn, self.dimension, source=items_path)
            items.check_complete(conn, items_path)
        finally:
            conn.close()
        self.loaded = loaded
        crc32 = self._graph(loaded, reuse=not changes.rows and not changes.removals and not (self.old and self.old.store))
        # The item store takes its final name before the mapped file stamps it, so the stamp is taken of the
        # file readers will open (the stamp is size and mtime, which a rename keeps; see columns.item_stamp).
        # Nothing names the generation's files until the manifest is written.
        items_path.replace(self.folder / self.names["items"])
        arrays, facts = columns.derive(loaded, identifier=self.identifier, prompt_encoder=self.prompt_encoder,
                                       previous=self._previous_columns(), items_path=self.folder / self.names["items"],
                                       vectors=settings.index_vectors())
        mapped.write_mapped(self.partials["mapped"], arrays, facts)
        mapped.Mapped(self.partials["mapped"])  # proven complete: every array lies inside the file
        for part, path in self.partials.items():
            if part != "items":
                path.replace(self.folder / self.names[part])
        return len(loaded.metas), crc32

    def _graph(self, loaded: items.LoadedItems, *, reuse: bool) -> int:
        if not self.graph:
            # A Lance store searches its own index: building an hnswlib graph of every item (12-50 minutes
            # at 1M here) would be wasted. An empty one keeps the generation's files what readers and
            # the audit expect; an older fashrec that ignores the store refuses it by its count.
            empty = np.zeros((0, self.dimension), np.float32)
            return ann.save_hnsw(ann.build_hnsw(empty), self.partials["vectors"], 0)
        """Labels in the graph are row positions: rebuilt over the final row order, or copied when only
        metadata changed (same rows, same order, same vectors) and the old graph is intact; its crc32."""
        path = self.partials["vectors"]
        if reuse and self.old and self.old.count == len(loaded.metas) and self.old.hnsw.get("crc32") is not None \
                and graph_problem(self.folder, self.old) is None:
            shutil.copyfile(self.folder / self.old.vectors_file, path)
            with open(path, "rb+") as fh:
                os.fsync(fh.fileno())
            if ann.file_crc32(path) == self.old.hnsw["crc32"]:  # the copy is complete
                return int(self.old.hnsw["crc32"])
        return ann.save_hnsw(ann.build_hnsw(loaded.image_vecs), path, len(loaded.metas))

    def _previous_columns(self) -> columns.Columns | None:
        """The old generation's facts, for its prompt tables (None when it has no mapped file)."""
        if not (self.old and self.old.mapped_file):
            return None
        try:
            return columns.Columns(mapped.Mapped(self.folder / self.old.mapped_file))
        except FashrecIndexError:
            return None
