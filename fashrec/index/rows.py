"""Index layer: the catalog's products by position, each read from the item store when first asked for.

A query looks at a few hundred products (neighbours of the anchor, candidates, results), not 35k: they
are fetched by label from the generation's SQLite file, parsed once and kept. Iterating over all of
them (profiles, outfits, evaluations) reads every row in one query, as opening an index used to.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Iterator, Sequence, overload

import numpy as np

from fashrec.catalog import Product
from fashrec.errors import FashrecIndexError
from fashrec.index import items

REBUILD = "rebuild it with: fashrec index CATALOG.jsonl --rebuild"
CHUNK = 500  # labels per query (SQLite's default limit on bound parameters is 999 in older builds)


class ProductRows(Sequence[Product]):
    """``rows[position]`` is a Product; ``labels[position]`` is its row in ``items_path``.

    ``metas`` (already parsed rows, from an index opened the old way) skips the database entirely.
    """

    def __init__(self, items_path: Path, labels: np.ndarray, metas: list[dict[str, Any]] | None = None, *,
                 dimension: int = 0) -> None:
        self.items_path = Path(items_path)
        self.labels = labels
        self.dimension = dimension  # of the stored vectors, for each row's check as it is read
        self._metas = metas
        self._cache: dict[int, Product] = {}
        self._all: list[Product] | None = None
        self._conn: sqlite3.Connection | None = None
        self._crc: str | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @overload
    def __getitem__(self, position: int) -> Product: ...

    @overload
    def __getitem__(self, position: slice) -> list[Product]: ...

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        position = int(position)
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(f"product position {position} out of range ({len(self)} products)")
        if self._all is not None:
            return self._all[position]
        product = self._cache.get(position)
        if product is None:
            meta = self._metas[position] if self._metas is not None else self._fetch(position)
            product = self._cache[position] = Product.from_metadata(meta)
        return product

    def many(self, positions: Sequence[int]) -> list[Product]:
        """``[self[p] for p in positions]``, with the rows not yet read fetched in one query."""
        if self._all is None and self._metas is None:
            missing = sorted({p for p in positions if p not in self._cache and 0 <= p < len(self)})
            for start in range(0, len(missing), CHUNK):
                chunk = missing[start:start + CHUNK]
                for position, meta in zip(chunk, self._fetch_many(chunk)):
                    self._cache[position] = Product.from_metadata(meta)
        return [self[p] for p in positions]

    def __iter__(self) -> Iterator[Product]:
        if self._all is None:
            metas = self._metas if self._metas is not None else self._fetch_all()
            self._all = [self._cache.get(i) or Product.from_metadata(m) for i, m in enumerate(metas)]
            self._cache.clear()
        return iter(self._all)

    # -- the database ---------------------------------------------------------------------------------
    def check(self) -> None:
        """What opening used to prove by reading every row, in a few page reads: the file is SQLite, holds
        every page it says it has, and its first and last rows are the ones the mapped file expects."""
        conn = self._connection()
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
            ends = conn.execute("SELECT min(label), max(label) FROM items").fetchone()
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from exc
        if self.items_path.stat().st_size < pages:
            raise self._unreadable(f"truncated: {self.items_path.stat().st_size} of {pages} bytes")
        expected = (int(self.labels[0]), int(self.labels[-1])) if len(self.labels) else (None, None)
        if tuple(ends) != expected:
            raise FashrecIndexError(f"index item store {self.items_path} does not match its mapped file "
                                    f"(rows {ends[0]}..{ends[1]}, expected {expected[0]}..{expected[1]})",
                                    hint=REBUILD)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                # Read-only: the generation's file never changes once published.
                self._conn = sqlite3.connect(f"file:{self.items_path}?mode=ro", uri=True, check_same_thread=False)
                self._conn.execute("PRAGMA schema_version").fetchone()  # fails fast on a file that is not SQLite
            except sqlite3.Error as exc:
                self._conn = None
                raise self._unreadable(exc) from exc
        return self._conn

    def _unreadable(self, exc: Exception | str) -> FashrecIndexError:
        return FashrecIndexError(f"index item store is corrupt or unreadable: {self.items_path} ({exc})", hint=REBUILD)

    def _fetch(self, position: int) -> dict[str, Any]:
        return self._fetch_many([position])[0]

    def _fetch_many(self, positions: list[int]) -> list[dict[str, Any]]:
        """The rows at ``positions``, each checked as opening an index used to check every row (its
        checksum, or in a row older than checksums its shape): a damaged row is refused by name."""
        labels = [int(self.labels[p]) for p in positions]
        marks = ",".join("?" * len(labels))
        try:
            found = self._connection().execute(
                f"SELECT {items.ROW_COLUMNS}, {self._crc_column()} FROM items WHERE label IN ({marks})",
                labels).fetchall()
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from exc
        rows = {row[0]: row for row in found}
        missing = [label for label in labels if label not in rows]
        if missing:
            raise FashrecIndexError(f"index item {missing[0]} is missing from {self.items_path}", hint=REBUILD)
        metas = []
        for label in labels:
            problem, doc = items.row_problem(rows[label], self.dimension)
            if problem:
                raise FashrecIndexError(f"index item store {self.items_path} is damaged: item '{rows[label][1]}' "
                                        f"{problem}", hint=items.REPAIR)
            metas.append(doc)
        return metas

    def _crc_column(self) -> str:
        """The checksum column, or NULL in a store written before rows had one (asked once)."""
        if self._crc is None:
            columns = {c[1] for c in self._connection().execute("PRAGMA table_info(items)")}
            self._crc = "row_crc" if "row_crc" in columns else "NULL"
        return self._crc

    def _fetch_all(self) -> list[dict[str, Any]]:
        """Every row, each checked (``items.load_all``), in label order."""
        conn = self._connection()
        try:
            loaded = items.load_all(conn, self.dimension, source=self.items_path)
        except sqlite3.Error as exc:
            raise self._unreadable(exc) from exc
        if [int(x) for x in loaded.labels] != [int(x) for x in self.labels]:
            raise FashrecIndexError(f"index item store {self.items_path} does not match its mapped file",
                                    hint=REBUILD)
        return loaded.metas
