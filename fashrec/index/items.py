"""Index layer: item storage: product metadata, content digests and both embeddings, in one SQLite file.

Keeping the vectors next to the metadata means the ANN graph can always be rebuilt from this file
alone, and an incremental update only encodes what changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from fashrec.catalog import Product
from fashrec.errors import FashrecIndexError

# Named, ordered migrations; the applied ones are recorded in the `migrations` table.
MIGRATIONS: list[tuple[str, str]] = [
    ("001_items", """
        CREATE TABLE items (
            label INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            image_digest TEXT NOT NULL,
            text_digest TEXT NOT NULL,
            meta TEXT NOT NULL,
            image_vec BLOB NOT NULL,
            text_vec BLOB NOT NULL
        );
    """),
    # A checksum of each row (see row_crc); NULL in rows written before it existed, until the next
    # `fashrec index` run has checked them another way and seals them.
    ("002_row_crc", "ALTER TABLE items ADD COLUMN row_crc INTEGER;"),
]
REPAIR = "repair it with: fashrec index CATALOG.jsonl (or start over with --rebuild)"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        else:
            conn = sqlite3.connect(path)
        conn.execute("PRAGMA schema_version").fetchone()  # fails fast on a file that is not SQLite
    except sqlite3.DatabaseError as exc:
        raise FashrecIndexError(f"index item store is corrupt: {path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    for name, sql in MIGRATIONS:
        if name not in done:
            conn.executescript(sql)
            conn.execute("INSERT INTO migrations VALUES (?, datetime('now'))", (name,))
    conn.commit()


def check_complete(conn: sqlite3.Connection, path: Path) -> None:
    """After the last commit: the file on disk holds every page SQLite wrote (SQLite reports its own
    write errors; this also catches a file system that silently dropped the end of the file)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
        size = os.fstat(fh.fileno()).st_size
    if size < pages:
        raise FashrecIndexError(f"the item store {path} could not be written completely ({size} of {pages} "
                                "bytes on disk): is the disk full?",
                                hint="free some disk space, then run the command again")


def row_crc(item_id: str, image_digest: str, text_digest: str, meta: str, image_vec: bytes, text_vec: bytes) -> int:
    """A checksum of everything a row holds. The content digests describe the catalog's image and text,
    not what was stored: without this, a price edited inside the file or a zeroed vector was served
    silently, and no re-index ever repaired it."""
    crc = zlib.crc32("\0".join((item_id, image_digest, text_digest, meta)).encode("utf-8", "surrogatepass"))
    return zlib.crc32(text_vec, zlib.crc32(image_vec, crc))


def delete_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    conn.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids])


def upsert(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str, dict, np.ndarray, np.ndarray]]) -> None:
    values = []
    for i, idg, tdg, meta, iv, tv in rows:
        doc = json.dumps(meta, ensure_ascii=False)
        ib, tb = np.asarray(iv, dtype=np.float32).tobytes(), np.asarray(tv, dtype=np.float32).tobytes()
        values.append((i, idg, tdg, doc, ib, tb, row_crc(i, idg, tdg, doc, ib, tb)))
    conn.executemany(
        """INSERT INTO items (id, image_digest, text_digest, meta, image_vec, text_vec, row_crc)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET image_digest=excluded.image_digest,
               text_digest=excluded.text_digest, meta=excluded.meta,
               image_vec=excluded.image_vec, text_vec=excluded.text_vec, row_crc=excluded.row_crc""",
        values,
    )


def update_meta(conn: sqlite3.Connection, rows: Iterable[tuple[str, dict]]) -> None:
    conn.executemany("UPDATE items SET meta = ?, row_crc = NULL WHERE id = ?",
                     [(json.dumps(meta, ensure_ascii=False), i) for i, meta in rows])
    seal(conn)


def seal(conn: sqlite3.Connection) -> None:
    """Give every row without a checksum its checksum (rows the caller has just written or checked)."""
    rows = conn.execute("SELECT label, id, image_digest, text_digest, meta, image_vec, text_vec FROM items "
                        "WHERE row_crc IS NULL").fetchall()
    conn.executemany("UPDATE items SET row_crc = ? WHERE label = ?", [(row_crc(*r[1:]), r[0]) for r in rows])


# -- reading and checking ---------------------------------------------------------------------------

ROW_COLUMNS = "label, id, image_digest, text_digest, meta, image_vec, text_vec"


def read_rows(conn: sqlite3.Connection) -> list[tuple]:
    """Every row, in label order, with its checksum last (None in a store that predates checksums)."""
    has_crc = any(c[1] == "row_crc" for c in conn.execute("PRAGMA table_info(items)"))
    crc = "row_crc" if has_crc else "NULL"
    return conn.execute(f"SELECT {ROW_COLUMNS}, {crc} FROM items ORDER BY label").fetchall()


def read_offer_fields(conn: sqlite3.Connection, source: Path) -> list[dict[str, Any]]:
    """Every row's brand, currency, stock and sizes in label order, picked out by SQLite (no vector read,
    no whole metadata parsed): ``fashrec info`` on an index whose mapped file predates the offer counts."""
    try:
        rows = conn.execute("SELECT json_extract(meta, '$.brand'), json_extract(meta, '$.currency'), "
                            "json_extract(meta, '$.in_stock'), json(json_extract(meta, '$.sizes')) "
                            "FROM items ORDER BY label").fetchall()
    except sqlite3.Error as exc:
        raise FashrecIndexError(f"index item store is unreadable: {source} ({exc})", hint=REPAIR) from exc
    # JSON true/false come back as 1/0; an empty list is by far the most common sizes value
    return [{"brand": brand, "currency": currency, "in_stock": None if in_stock is None else bool(in_stock),
             "sizes": json.loads(sizes) if sizes and sizes != "[]" else []}
            for brand, currency, in_stock, sizes in rows]


def row_problem(row: tuple, dimension: int, *, norms: bool = True) -> tuple[str | None, Any]:
    """(what is wrong with a stored row or None, its decoded metadata); ``norms=False`` leaves the
    unit-length check of a row without checksum to the caller (who can do it for all rows at once)."""
    label, item_id, idg, tdg, meta, iv, tv, crc = row
    if not (isinstance(item_id, str) and isinstance(idg, str) and isinstance(tdg, str) and isinstance(meta, str)
            and isinstance(iv, bytes) and isinstance(tv, bytes)):
        return "has a field of the wrong type", None
    if crc is not None and row_crc(item_id, idg, tdg, meta, iv, tv) != crc:
        return "fails its checksum", None
    if len(iv) != 4 * dimension or len(tv) != 4 * dimension:
        return f"holds a vector of {min(len(iv), len(tv)) / 4:g} values, not {dimension}", None
    try:
        doc = json.loads(meta)
    except ValueError:
        return "has unreadable metadata", None
    if crc is not None:   # the row is exactly what fashrec wrote, from Product.metadata()
        return None, doc
    # A row older than checksums: only what any sound row must look like can be checked.
    problem = Product.metadata_problem(doc)
    if problem is None and doc["id"] != item_id:
        problem = f"metadata names another id ('{doc['id']}')"
    if problem is None and norms and not _unit(np.frombuffer(iv, dtype=np.float32), np.frombuffer(tv, dtype=np.float32)):
        problem = NOT_UNIT
    return problem, doc


NOT_UNIT = "holds a vector that is not of unit length (zeroed or damaged)"


def _unit(*vectors: np.ndarray) -> np.ndarray:
    """Stored vectors are normalised: the vector check a row without a checksum allows (row-wise)."""
    return np.logical_and.reduce([np.abs(np.einsum("...i,...i->...", v, v) - 1.0) < 1e-3 for v in vectors])


def stored_dimension(rows: list[tuple], recorded: int) -> int:
    """The vectors' dimension: ``recorded`` (the manifest's), unless every stored vector disagrees with it
    the same way (then the manifest is what was damaged)."""
    lengths = Counter(len(r[5]) for r in rows if isinstance(r[5], bytes))
    if not lengths or lengths.get(4 * recorded):
        return recorded
    length, votes = lengths.most_common(1)[0]
    return length // 4 if length % 4 == 0 and length and votes == len(rows) else recorded


@dataclass
class LoadedItems:
    labels: np.ndarray
    metas: list[dict]
    image_vecs: np.ndarray
    text_vecs: np.ndarray
    image_digests: list[str]


def load_all(conn: sqlite3.Connection, dimension: int, *, source: Path | None = None) -> LoadedItems:
    """Every row, checked; a damaged one is refused with its id and what is wrong (a reader must not
    serve a row it cannot vouch for)."""
    where = source or "the index item store"
    rows = read_rows(conn)
    if rows and stored_dimension(rows, dimension) != dimension:
        raise FashrecIndexError(f"index item store {where} is inconsistent with its manifest: the manifest "
                                f"says vectors of {dimension} values, every stored one has "
                                f"{stored_dimension(rows, dimension)}", hint=REPAIR)
    n = len(rows)
    labels = np.zeros(n, dtype=np.int64)
    image_vecs = np.zeros((n, dimension), dtype=np.float32)
    text_vecs = np.zeros((n, dimension), dtype=np.float32)
    metas: list[dict] = []
    damaged: list[str] = []
    unsealed: list[int] = []
    for i, row in enumerate(rows):
        problem, doc = row_problem(row, dimension, norms=False)
        if problem:
            damaged.append(f"item '{row[1]}' {problem}")
            continue
        labels[i] = row[0]
        image_vecs[i] = np.frombuffer(row[5], dtype=np.float32)
        text_vecs[i] = np.frombuffer(row[6], dtype=np.float32)
        metas.append(doc)
        if row[7] is None:
            unsealed.append(i)
    if unsealed:   # all at once: one row at a time cost a third of opening a 35k index
        at = np.array(unsealed)
        damaged += [f"item '{rows[i][1]}' {NOT_UNIT}" for i in at[~_unit(image_vecs[at], text_vecs[at])]]
    if damaged:
        raise FashrecIndexError(f"index item store {where} is damaged: {len(damaged)} item(s) fail their check "
                                f"(first: {damaged[0]})", hint=REPAIR)
    return LoadedItems(labels, metas, image_vecs, text_vecs, [r[2] for r in rows])
