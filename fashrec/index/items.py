"""Index layer: item storage: product metadata, content digests and both embeddings, in one SQLite file.

Keeping the vectors next to the metadata means the ANN graph can always be rebuilt from this file
alone, and an incremental update only encodes what changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

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
]


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


def delete_ids(conn: sqlite3.Connection, ids: Iterable[str]) -> None:
    conn.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in ids])


def upsert(conn: sqlite3.Connection, rows: Iterable[tuple[str, str, str, dict, np.ndarray, np.ndarray]]) -> None:
    conn.executemany(
        """INSERT INTO items (id, image_digest, text_digest, meta, image_vec, text_vec)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET image_digest=excluded.image_digest,
               text_digest=excluded.text_digest, meta=excluded.meta,
               image_vec=excluded.image_vec, text_vec=excluded.text_vec""",
        [(i, idg, tdg, json.dumps(meta, ensure_ascii=False),
          np.asarray(iv, dtype=np.float32).tobytes(), np.asarray(tv, dtype=np.float32).tobytes())
         for i, idg, tdg, meta, iv, tv in rows],
    )


def update_meta(conn: sqlite3.Connection, rows: Iterable[tuple[str, dict]]) -> None:
    conn.executemany("UPDATE items SET meta = ? WHERE id = ?",
                     [(json.dumps(meta, ensure_ascii=False), i) for i, meta in rows])


@dataclass
class LoadedItems:
    labels: np.ndarray
    metas: list[dict]
    image_vecs: np.ndarray
    text_vecs: np.ndarray
    image_digests: list[str]


def load_all(conn: sqlite3.Connection, dimension: int) -> LoadedItems:
    rows = conn.execute("SELECT label, meta, image_vec, text_vec, image_digest FROM items ORDER BY label").fetchall()
    n = len(rows)
    labels = np.zeros(n, dtype=np.int64)
    image_vecs = np.zeros((n, dimension), dtype=np.float32)
    text_vecs = np.zeros((n, dimension), dtype=np.float32)
    metas: list[dict] = []
    digests = [r[4] for r in rows]
    for i, (label, meta, iv, tv, _) in enumerate(rows):
        labels[i] = label
        try:
            image_vecs[i] = np.frombuffer(iv, dtype=np.float32)
            text_vecs[i] = np.frombuffer(tv, dtype=np.float32)
            metas.append(json.loads(meta))
        except (ValueError, json.JSONDecodeError) as exc:
            raise FashrecIndexError(f"index item {label} is corrupt ({exc})",
                                    hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    return LoadedItems(labels, metas, image_vecs, text_vecs, digests)
