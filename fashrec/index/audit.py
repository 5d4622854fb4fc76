"""Index layer: checking a published generation from end to end, before a writer builds on it and for
`fashrec index --check`.

Every row of the item store against its checksum (or, in a row older than checksums, against what a
row must look like), the manifest's count and dimension against what is stored, the graph against
its checksum, the mapped file against its checksums and the item store. A writer that finds damage repairs it -- damaged rows are re-encoded from the catalog,
a wrong count or dimension is rewritten, the graph is rebuilt from the stored vectors -- so a damaged
index is never "already up to date".
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashrec.errors import FashrecIndexError
from fashrec.index import ann, items
from fashrec.index.columns import Columns
from fashrec.index.lance_store import lance_problem
from fashrec.index.manifest import Manifest, read_manifest
from fashrec.index.mapped import Mapped

StoredRow = tuple[str, str, str]   # image digest, text digest, stored metadata (JSON)


@dataclass
class Audit:
    """What a check of one generation found."""

    folder: Path
    manifest: Manifest | None
    rows: dict[str, StoredRow] = field(default_factory=dict)   # the sound rows, by id
    damaged: dict[str, str] = field(default_factory=dict)      # id -> what is wrong with its row
    store: list[str] = field(default_factory=list)              # what is wrong with the files or the manifest
    graph: str | None = None                                    # what is wrong with the graph
    # Why the mapped file must be written again though nothing is damaged (none yet, or it describes
    # the item store as it was before a copy changed its times); None when it is current.
    remap: str | None = None
    dimension: int = 0                                          # the stored vectors' dimension

    @property
    def problems(self) -> list[str]:
        """Everything found, in words."""
        name = self.manifest.items_file if self.manifest else "item store"
        return (self.store + [f"{name}: item '{i}' {why}" for i, why in self.damaged.items()]
                + ([self.graph] if self.graph else []))

    @property
    def clean(self) -> bool:
        return not (self.store or self.damaged or self.graph)

    def to_dict(self) -> dict:
        payload = {"index": str(self.folder), "ok": self.clean, "items": len(self.rows) + len(self.damaged),
                   "generation": self.manifest.generation if self.manifest else None,
                   "problems": self.problems, "damaged": self.damaged}
        if not self.clean:
            payload["hint"] = f"repair it with: fashrec index {self.catalog_hint()}"
        return payload

    def catalog_hint(self) -> str:
        return (self.manifest.catalog if self.manifest and self.manifest.catalog else "CATALOG.jsonl")


def audit_index(folder: str | Path) -> Audit:
    """Check the index at ``folder`` (a manifest that cannot be read is itself the finding)."""
    folder = Path(folder)
    try:
        manifest = read_manifest(folder)
    except FashrecIndexError as exc:
        return Audit(folder, None, store=[exc.message])
    try:
        audit = audit_generation(folder, manifest)
    except FashrecIndexError as exc:
        return Audit(folder, manifest, store=[exc.message])
    if manifest.store:   # the Lance dataset the generation names opens at its version, with every item
        problem = lance_problem(manifest.store, manifest.count, folder)
        audit.store += [problem] if problem else []
    return audit


def audit_generation(folder: Path, manifest: Manifest) -> Audit:
    """Check the generation ``manifest`` publishes; raises when its item store cannot be read at all
    (nothing is left to repair from: only --rebuild helps)."""
    audit = Audit(folder, manifest)
    path = folder / manifest.items_file
    rows = _read(path)
    recorded = int(manifest.encoder["dimension"])
    audit.dimension = items.stored_dimension(rows, recorded)
    if audit.dimension != recorded:
        audit.store.append(f"the manifest says vectors of {recorded} values, every stored one has "
                           f"{audit.dimension}")
    for row in rows:
        problem, _ = items.row_problem(row, audit.dimension)
        if problem:
            audit.damaged[row[1]] = problem
        else:
            audit.rows[row[1]] = (row[2], row[3], row[4])
    if len(rows) != manifest.count:
        audit.store.append(f"the manifest says {manifest.count} items, the item store holds {len(rows)}")
    audit.graph = graph_problem(folder, manifest)
    mapped_problem, audit.remap = mapped_findings(folder, manifest, rows, sound=not audit.damaged)
    if mapped_problem:
        audit.store.append(mapped_problem)
    return audit


def mapped_findings(folder: Path, manifest: Manifest, rows: list[tuple], *, sound: bool) -> tuple[str | None, str | None]:
    """(what is wrong with the mapped file, why it must be rewritten though sound). Its checksums are
    verified, and when the rows are ``sound`` its labels and vectors are compared with theirs: a file
    that says something else than the item store is damaged, whatever its stamp says."""
    if not manifest.mapped_file:
        return None, "the index has no mapped file yet (written by an older fashrec)"
    path = folder / manifest.mapped_file
    if not path.is_file():
        return f"the mapped file {path.name} is missing", None
    try:
        found = Mapped(path)
        found.verify()
        image, text, labels = found.array("image"), found.array("text"), found.array("labels")
    except FashrecIndexError as exc:
        return exc.message, None
    if sound and rows:
        dim = image.shape[1] if image.ndim == 2 else 0
        same = (image.shape == text.shape == (len(rows), dim) and len(labels) == len(rows)
                and all(len(r[5]) == len(r[6]) == 4 * dim for r in rows)
                and np.array_equal(labels, [r[0] for r in rows])
                and np.array_equal(image, _stored(rows, 5, image))
                and np.array_equal(text, _stored(rows, 6, text)))
        if not same:
            return f"the mapped file {path.name} does not match the item store", None
    described = Columns(found)
    if not described.describes(folder / manifest.items_file):
        return None, "the item store changed after its mapped file was written"
    try:
        missing = described.missing_codes()
    except FashrecIndexError as exc:
        return exc.message, None
    if missing:
        return None, (f"the mapped file has no search codes for its {' and '.join(missing)} matrix "
                      "(written by an older fashrec)")
    return None, None


def _stored(rows: list[tuple], column: int, like: np.ndarray) -> np.ndarray:
    """The item store's float32 vectors of one space, in the mapped matrix's shape and dtype (float16
    when the file was written so)."""
    matrix = np.frombuffer(b"".join(r[column] for r in rows), np.float32).reshape(like.shape)
    return matrix.astype(like.dtype, copy=False)


def _read(path: Path) -> list[tuple]:
    if not path.is_file():
        raise FashrecIndexError(f"index item store missing: {path}",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    conn = items.connect(path, readonly=True)
    try:
        return items.read_rows(conn)
    except sqlite3.DatabaseError as exc:
        raise FashrecIndexError(f"index item store is corrupt: {path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    finally:
        conn.close()


def graph_problem(folder: Path, manifest: Manifest) -> str | None:
    """What makes the graph untrustworthy (None: it is what was published).

    The vectors live in the item store too, so a graph that is not trusted is rebuilt, never re-encoded.
    """
    path = folder / manifest.vectors_file
    expected = manifest.hnsw.get("crc32")
    if not path.is_file():
        return f"the vector graph {path.name} is missing"
    if expected is None:
        # hnswlib loads a damaged graph of the right size and crashes on the first search: without a
        # checksum nothing vouches for it.
        return f"the vector graph {path.name} has no checksum in the manifest"
    if ann.file_crc32(path) != expected:
        return f"the vector graph {path.name} fails its checksum"
    return None
