"""Index layer, build step 3: write a new generation beside the published one, then publish it.

The new item store and graph are written as ``*.partial`` files, renamed, and published by one atomic
replace of the manifest; readers only ever follow the manifest, so they never see a half-written
generation, and a killed run leaves the previous one readable.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from fashrec import __version__
from fashrec.index import ann, items
from fashrec.index.encode import EncodedRow
from fashrec.index.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Manifest,
    write_manifest,
)


@dataclass
class Changes:
    """What the new generation changes in the one it builds on."""

    rows: list[EncodedRow]                     # new and re-encoded items
    removals: list[str]                        # ids to delete
    metadata: list[tuple[str, dict]]           # (id, metadata) of items whose metadata alone changed


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def clean_strays(folder: Path, manifest: Manifest | None) -> None:
    """Remove files of generations that were never published (an interrupted earlier run)."""
    keep = {MANIFEST_NAME, ".lock"}
    if manifest:
        keep |= {manifest.items_file, manifest.vectors_file}
    for f in folder.iterdir():
        if f.is_file() and f.name not in keep and (
            f.name.startswith(("items-", "vectors-", ".manifest.json.")) or f.suffix == ".partial"
        ):
            f.unlink(missing_ok=True)


def graph_intact(folder: Path, manifest: Manifest) -> bool:
    """Whether the published graph file exists and matches its checksum (vectors live in SQLite too,
    so a damaged graph is repaired by rebuilding it, not by re-encoding anything)."""
    path = folder / manifest.vectors_file
    if not path.is_file():
        return False
    expected = manifest.hnsw.get("crc32")
    return expected is None or ann.file_crc32(path) == expected


def publish(folder: Path, current: Manifest | None, old: Manifest | None, changes: Changes, *, encoder: dict,
            catalog: Path) -> Manifest:
    """Write and publish the next generation; ``old`` is what it builds on (None: from scratch)."""
    generation = (current.generation + 1) if current else 1
    new_items = folder / f"items-{generation}.sqlite"
    new_vectors = folder / f"vectors-{generation}.hnsw"
    partial_items = new_items.with_name(new_items.name + ".partial")
    partial_vectors = new_vectors.with_name(new_vectors.name + ".partial")
    try:
        count, crc32 = _write_generation(folder, old, changes, partial_items, partial_vectors, encoder["dimension"])
        partial_items.replace(new_items)
        partial_vectors.replace(new_vectors)
        stamp = now()
        manifest = Manifest(
            schema_version=SCHEMA_VERSION, encoder=encoder, generation=generation, items_file=new_items.name,
            vectors_file=new_vectors.name, count=count, catalog=str(catalog.resolve()),
            hnsw={"M": ann.HNSW_M, "ef_construction": ann.HNSW_EF_CONSTRUCTION, "ef": ann.HNSW_EF_SEARCH,
                  "crc32": crc32},
            created_at=old.created_at if old else stamp, updated_at=stamp, fashrec_version=__version__,
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
    return manifest


def _write_generation(folder: Path, old: Manifest | None, changes: Changes, items_path: Path, vectors_path: Path,
                      dimension: int) -> tuple[int, int]:
    """The new item store (a copy of the old one, changed) and its graph; (item count, graph crc32)."""
    if old:
        shutil.copyfile(folder / old.items_file, items_path)
    conn = items.connect(items_path)
    try:
        items.migrate(conn)
        with conn:
            items.delete_ids(conn, changes.removals)
            items.upsert(conn, changes.rows)
            items.update_meta(conn, changes.metadata)
        loaded = items.load_all(conn, int(dimension))
    finally:
        conn.close()
    # Labels in the graph are row positions, so rebuild it over the final row order.
    graph = ann.build_hnsw(loaded.image_vecs)
    graph.save_index(str(vectors_path))
    return len(loaded.metas), ann.file_crc32(vectors_path)
