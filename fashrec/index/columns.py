"""Index layer: what a query reads about the whole catalog, precomputed when a generation is written.

Filters, anchors and the planner need catalog-wide facts -- which products carry each attribute value,
prices, stock, the vocabulary, which product has an id or an image -- and used to rebuild them at every
open from 35k Product objects. :func:`derive` computes them once, from the item store's rows, as arrays
and JSON facts that :mod:`fashrec.index.mapped` stores beside the vectors; :class:`Columns` answers
from them. An index written before this file existed gets the same answers computed in memory at open
(slower, identical), until its next ``fashrec index``.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from fashrec.catalog import Vocabulary, normalize_value
from fashrec.encoder.interface import Encoder
from fashrec.encoder.prompts import MAX_VALUES, prompt_key, prompt_matrix
from fashrec.errors import FashrecIndexError
from fashrec.index import pq
from fashrec.index.ann import BLOCK_ROWS, scores_of
from fashrec.index.items import LoadedItems

SPACES = ("image", "text")
# Arrays a query reads only in part (rows of the matrices, and of their codes): not checksummed at open
# (see mapped.py). The codes (32 MB at 1M) are trusted too: hashing them would cost the first filtered
# search ~30 ms, the very cost they exist to remove, and damage cannot make a wrong answer -- every byte
# is a valid code, so a damaged one only lets a worse row into the shortlist, whose scores are exact --
# nor crash (codes index a table of CENTROIDS entries). Their codebooks are small and checksummed when
# first read; a truncated code array is refused at open like any array that runs past the file's end;
# `fashrec index` and --check verify them all.
LARGE = frozenset({*SPACES, *(f"codes.{space}" for space in SPACES)})
# Posting-list keys for the products' own fields (no attribute name starts with "@").
BRAND_FIELD, SIZES_FIELD = "@brand", "@sizes"
# A mapped vector matrix larger than this never stays mapped: every page read through the mapping stays
# in the process's RSS (a 1M-item matrix is 977 MiB; the kernel maps a whole neighbourhood around each
# touched page, so 20k scattered rows left 825 MiB mapped, bench/RESULTS.md section 12), so a full scan
# and a gather of selected rows both go through the mapping one span of SCAN_ROWS rows at a time and
# unmap each span once its rows are copied. Smaller matrices (the 35k real index's are 35 MiB) stay mapped.
READ_ABOVE_BYTES = 256 << 20
SCAN_ROWS = 64 * BLOCK_ROWS   # rows of a large matrix mapped at a time (16 MiB at 256 floats)
# Rows a filtered exact search gathered, kept per set of rows (a request searches one filter several
# times; a server sees the same filters again): the scan over kept rows is ~1 ms.
GATHER_CACHE_BYTES = 64 << 20
# A matrix larger than this also gets product-quantisation codes (fashrec.index.pq) when its mapped file is
# derived: the rows too large to stay mapped, where a selective filter's first search gathered ~20k
# scattered rows (28-76 ms at 1M, bench/RESULTS.md 9.4). Smaller indexes' files stay as they were.
CODES_ABOVE_BYTES = READ_ABOVE_BYTES
# A filtered exact search over codes keeps the best max(SHORTLIST_ROWS, SHORTLIST_PER_K * k) allowed rows by
# their codes' approximate scores and scores only those exactly (bench/RESULTS.md 9.5: recall against it);
# with fewer than SHORTLIST_FACTOR times that many allowed rows, all of them are scored exactly (a gather of
# a thousand rows is cheap, and k near the allowed count gains nothing).
SHORTLIST_ROWS = 256
SHORTLIST_PER_K = 16
SHORTLIST_FACTOR = 4
# Codes are re-trained (rather than their codebooks reused) when the item count has changed by more than
# this factor since they were trained: the catalog has drifted too far from what the centroids describe.
RETRAIN_FACTOR = 2.0


class ArraySource(Protocol):
    """Where the arrays live: a mapped file (:class:`fashrec.index.mapped.Mapped`) or memory."""

    facts: dict[str, Any]

    def has(self, name: str) -> bool: ...

    def array(self, name: str) -> np.ndarray: ...


class InMemory:
    """Arrays computed at open, for an index written before mapped files existed."""

    def __init__(self, arrays: Mapping[str, np.ndarray], facts: dict[str, Any]) -> None:
        self.facts = facts
        self._arrays = dict(arrays)

    def has(self, name: str) -> bool:
        return name in self._arrays

    def array(self, name: str) -> np.ndarray:
        return self._arrays[name]


def _attributes(meta: Mapping[str, Any]) -> dict[str, list[str]]:
    """A stored product's attributes as lists (as ``Product.from_metadata`` reads them)."""
    return {k: (v if isinstance(v, list) else [v]) for k, v in (meta.get("attributes") or {}).items()}


def _sorted_lookup(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Keys as a sorted fixed-width byte array, and the position each sorted key belongs to; equal keys
    keep position order, so a lookup takes the last (as a dict built in position order would)."""
    encoded = [k.encode("utf-8") for k in keys]
    width = max((len(k) for k in encoded), default=1) or 1
    table = np.array(encoded, dtype=f"S{width}") if encoded else np.zeros(0, dtype="S1")
    order = np.argsort(table, kind="stable").astype(np.int64)
    return table[order], order


def item_stamp(items_path: Path) -> list[int]:
    """What identifies the item store a mapped file was derived from: its size and modification time.
    Deliberately not :class:`~fashrec.fsutil.FileStamp` (device, inode, ctime): this stamp travels inside
    the index, and an index folder copied or moved with its times kept (``cp -a``, ``rsync -a``, a restore)
    must keep its fast open; a generation's files never change once published, and SQLite's read-only
    connections keep both. Machine-local records (the graph checks, the ONNX stamps) use FileStamp."""
    st = items_path.stat()
    return [int(st.st_size), int(st.st_mtime_ns)]


def derive(loaded: LoadedItems, *, identifier: str = "", prompt_encoder: Callable[[], Encoder | None] | None = None,
           previous: "Columns | None" = None, items_path: Path | None = None, vectors: str = "float32",
           quantise: bool = True) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, facts) of one generation, from all its stored rows (written to ``items_path``, complete).
    The attribute prompts of encoder ``identifier`` are reused from ``previous`` where unchanged, else
    embedded by ``prompt_encoder()`` (called at most once; without it, or when it gives None, queries
    embed them themselves). ``quantise``: give matrices over CODES_ABOVE_BYTES their codes (see
    :func:`_add_codes`; not for facts computed at open, which would train them at every open)."""
    metas = loaded.metas
    attributes = [_attributes(m) for m in metas]
    counters: dict[str, Counter] = {}
    lists: dict[str, dict[str, list[int]]] = {}
    for pos, attrs in enumerate(attributes):
        for attr, vals in attrs.items():
            counters.setdefault(attr, Counter()).update(vals)
            for v in vals:
                lists.setdefault(attr, {}).setdefault(v, []).append(pos)
    vocabulary = {a: dict(c.most_common()) for a, c in sorted(counters.items())}
    # ``vectors``: the exact-search matrices' dtype (float16 halves them; scores stay float32, ann.scores_of)
    arrays: dict[str, np.ndarray] = {"image": loaded.image_vecs.astype(vectors, copy=False),
                                     "text": loaded.text_vecs.astype(vectors, copy=False),
                                     "labels": np.asarray(loaded.labels, dtype=np.int64)}
    names = list(vocabulary)
    for i, attr in enumerate(names):
        values = list(vocabulary[attr])
        arrays[f"postings.{i}"] = np.concatenate([np.asarray(lists[attr][v], dtype=np.int32) for v in values])
        arrays[f"offsets.{i}"] = np.cumsum([0] + [len(lists[attr][v]) for v in values]).astype(np.int64)
    arrays["price"] = np.array([np.nan if m.get("price") is None else m["price"] for m in metas], dtype=np.float64)
    arrays["in_stock"] = np.array([m.get("in_stock") is not False for m in metas], dtype=bool)
    arrays["ids"], arrays["ids.order"] = _sorted_lookup([str(m["id"]) for m in metas])
    field_facts = _add_fields(arrays, metas)
    arrays["digests"], arrays["digests.order"] = _sorted_lookup(list(loaded.image_digests))
    currencies = sorted({m["currency"] for m in metas if m.get("currency")})
    listed = {attr: sum(1 for attrs in attributes if attrs.get(attr)) for attr in names}
    facts: dict[str, Any] = {"count": len(metas), "attributes": names, "vocabulary": vocabulary,
                             "listed": listed, "currencies": currencies, **field_facts,
                             "prompts": {}, "items_stamp": item_stamp(items_path) if items_path else None}
    _add_prompts(arrays, facts, Vocabulary(vocabulary), identifier, prompt_encoder, previous)
    if quantise:
        _add_codes(arrays, facts, [str(m["id"]) for m in metas], previous)
    return arrays, facts


def _add_codes(arrays: dict[str, np.ndarray], facts: dict[str, Any], ids: list[str],
               previous: "Columns | None") -> None:
    """Product-quantisation codes (fashrec.index.pq) of every matrix over CODES_ABOVE_BYTES, as arrays
    ``codes.<space>`` and ``books.<space>`` with their parameters in ``facts["codes"]``. The previous
    generation's codebooks are reused when made the same way for a catalog of a similar size, and then so
    are the codes of the rows whose id and vector are unchanged: an incremental run encodes only the rows
    it changed (at 1M, training and encoding every row takes ~30 s a matrix, bench/RESULTS.md 9.5)."""
    facts["codes"] = {}
    count = len(ids)
    for space in SPACES:
        matrix = arrays[space]
        if matrix.ndim != 2 or not pq.fits(matrix.shape[1]) or matrix.nbytes <= CODES_ABOVE_BYTES:
            continue
        try:   # the previous file's codes, checksummed (it was opened untrusted); damaged ones are made anew
            old = previous.codes(space) if previous is not None else None
        except FashrecIndexError:
            old = None
        entry = previous.facts["codes"][space] if old is not None else None
        made_alike = entry is not None and all(entry.get(key) == value for key, value in pq.parameters(0).items()
                                               if key != "trained_on")
        reuse = (old is not None and made_alike and old[1].shape[2] * pq.SUBSPACES == matrix.shape[1]
                 and 1 / RETRAIN_FACTOR <= count / max(1, int(entry["trained_on"])) <= RETRAIN_FACTOR)
        if reuse:
            try:
                books, codes = old[1], _reused_codes(space, matrix, ids, previous, old)
                trained_on = int(entry["trained_on"])
            except FashrecIndexError:   # the previous matrix fails its checksum: nothing of that file is reused
                reuse = False
        if not reuse:
            books = pq.train(matrix)
            codes, trained_on = pq.encode(matrix, books), count
        arrays[f"codes.{space}"], arrays[f"books.{space}"] = codes, np.asarray(books, np.float32)
        facts["codes"][space] = {"codes": f"codes.{space}", "books": f"books.{space}", **pq.parameters(trained_on)}


REUSE_ROWS = 1 << 17   # rows of the previous matrix compared at a time (128 MiB of float32 at 256 values)


def _reused_codes(space: str, matrix: np.ndarray, ids: list[str], previous: "Columns",
                  old: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Codes of ``matrix`` against the previous generation's codebooks: a row with the same id and the same
    stored vector there keeps its code, every other row is encoded now."""
    old_codes, books = old
    before = previous.vector_matrix(space)
    at = previous.positions(ids)
    keep = np.zeros(len(ids), bool)
    if before.dtype == matrix.dtype and before.shape[1:] == matrix.shape[1:]:
        for start in range(0, len(ids), REUSE_ROWS):
            stop = min(start + REUSE_ROWS, len(ids))
            known = np.flatnonzero(at[start:stop] >= 0) + start
            if len(known):
                rows = previous.read_rows(space, at[known])
                keep[known[np.all(rows == matrix[known], axis=1)]] = True
    codes = np.empty((len(ids), pq.SUBSPACES), np.uint8)
    codes[keep] = old_codes.take(at[keep], axis=0)
    fresh = np.flatnonzero(~keep)
    if len(fresh):
        codes[fresh] = pq.encode(matrix, books, fresh)
    return codes


def _add_fields(arrays: dict[str, np.ndarray], metas: list[dict[str, Any]]) -> dict[str, Any]:
    """The products' own fields a request may name: brand and size postings (normalised as Index masks
    read a Product's), which products list sizes at all, and the counts Vocabulary.from_products keeps."""
    size_sets = [{normalize_value(s) for s in m.get("sizes") or ()} for m in metas]
    brand_sets = [{normalize_value(m["brand"])} if m.get("brand") else set() for m in metas]
    arrays["sized"] = np.array([bool(m.get("sizes")) for m in metas], dtype=bool)
    brands = Counter(normalize_value(m["brand"]) for m in metas if m.get("brand") and str(m["brand"]).strip())
    sizes = Counter(v for m in metas for v in {normalize_value(s) for s in m.get("sizes") or () if str(s).strip()})
    return {"sizes": _add_field(arrays, "sizes", size_sets), "brands": _add_field(arrays, "brands", brand_sets),
            "brand_counts": dict(brands.most_common()), "size_counts": dict(sizes.most_common()),
            "priced": sum(1 for m in metas if m.get("price") is not None), "offer": offer_counts(metas)}


STOCK = ("in_stock", "out_of_stock", "unknown")


def offer_counts(metas: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The offer counts ``fashrec info`` shows -- currencies, brands and sizes as products list them (not
    normalised, unlike the postings), stock with unknown kept apart -- so info reads no product."""
    currencies: Counter = Counter()
    brands: Counter = Counter()
    sizes: Counter = Counter()
    stock: Counter = Counter()
    for m in metas:
        if m.get("currency"):
            currencies[m["currency"]] += 1
        if m.get("brand"):
            brands[m["brand"]] += 1
        sizes.update(m.get("sizes") or ())
        in_stock = m.get("in_stock")
        stock["unknown" if in_stock is None else "in_stock" if in_stock else "out_of_stock"] += 1
    return {"currencies": dict(currencies.most_common()), "brands": dict(brands.most_common()),
            "sizes": dict(sizes.most_common()), "stock": {k: stock.get(k, 0) for k in STOCK}}


def _add_field(arrays: dict[str, np.ndarray], name: str, per_product: list[set[str]]) -> list[str]:
    """Posting lists of a product field (normalised sizes, brands): which products carry each value;
    the values, in the order of ``{name}.offsets``."""
    lists: dict[str, list[int]] = {}
    for pos, values in enumerate(per_product):
        for value in values:
            lists.setdefault(value, []).append(pos)
    values = sorted(lists)
    arrays[f"{name}.postings"] = np.concatenate([np.asarray(lists[v], np.int32) for v in values]
                                                or [np.zeros(0, np.int32)])
    arrays[f"{name}.offsets"] = np.cumsum([0] + [len(lists[v]) for v in values]).astype(np.int64)
    return values


def _add_prompts(arrays: dict[str, np.ndarray], facts: dict[str, Any], vocabulary: Vocabulary, identifier: str,
                 prompt_encoder: Callable[[], Encoder | None] | None, previous: "Columns | None") -> None:
    """The zero-shot prompt table of every checkable attribute, reused from ``previous`` when its key
    (encoder identifier + prompt texts) is unchanged, else embedded now."""
    encoder: Encoder | None = None
    tried = False
    for i, attr in enumerate(vocabulary.attributes()):
        values = vocabulary.values(attr)
        if not values or len(values) > MAX_VALUES:
            continue
        key = prompt_key(identifier, attr, values)
        matrix = previous.prompt_table(attr, key) if previous is not None else None
        if matrix is None:
            if not tried:
                encoder, tried = (prompt_encoder() if prompt_encoder is not None else None), True
            if encoder is None:
                continue
            matrix = prompt_matrix(encoder, attr, values)
        arrays[f"prompts.{i}"] = np.asarray(matrix, dtype=np.float32)
        facts["prompts"][attr] = {"array": f"prompts.{i}", "key": key}


class Columns:
    """Catalog-wide facts of one generation, answered from precomputed arrays."""

    def __init__(self, source: ArraySource) -> None:
        self.source = source
        self.facts = source.facts
        self._index = {attr: i for i, attr in enumerate(self.facts.get("attributes", []))}
        self._postings: dict[str, dict[str, np.ndarray]] = {}
        self._id_rank: np.ndarray | None = None  # position -> row of the sorted id table
        self._gathered: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()  # LRU, see scores
        self._gathered_bytes = 0   # the LRU's blocks' nbytes, kept with it under the lock
        self._gather_lock = threading.Lock()

    @classmethod
    def computed(cls, loaded: LoadedItems) -> "Columns":
        arrays, facts = derive(loaded, quantise=False)
        return cls(InMemory(arrays, facts))

    def __len__(self) -> int:
        return int(self.facts["count"])

    def vector_matrix(self, space: str) -> np.ndarray:
        return self.source.array(space)

    @property
    def labels(self) -> np.ndarray:
        return self.source.array("labels")

    def scores(self, space: str, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """``ann.scores_of`` on the ``space`` matrix (all rows, or ``rows``): the same float32 scores, bit
        for bit, but a large mapped matrix never stays mapped (see READ_ABOVE_BYTES): a full scan releases
        each block of the mapping after scoring it, ``rows`` are copied a span at a time
        (:meth:`_copy_spans`)."""
        matrix = self.vector_matrix(space)
        if getattr(self.source, "release", None) is None or matrix.nbytes <= READ_ABOVE_BYTES:
            return scores_of(matrix, query, rows)
        if rows is None:   # whole blocks of BLOCK_ROWS: float16 is widened in the same blocks
            out = np.empty(len(matrix), np.float32)
            for start in range(0, len(matrix), SCAN_ROWS):
                stop = min(start + SCAN_ROWS, len(matrix))
                out[start:stop] = scores_of(matrix[start:stop], query)
                self.source.release(space, start, stop)   # through the mapping, each block unmapped after
            return out
        return scores_of(self._rows(space, matrix, np.asarray(rows, np.int64)), query)

    def codes(self, space: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(codes, codebooks) of the ``space`` matrix (fashrec.index.pq), or None when its file has none
        (a small index, or one written before codes: searched exactly) or has them in another version."""
        entry = (self.facts.get("codes") or {}).get(space)
        if not entry or entry.get("version") != pq.VERSION or entry.get("subspaces") != pq.SUBSPACES \
                or entry.get("centroids") != pq.CENTROIDS:
            return None
        if not (self.source.has(entry["codes"]) and self.source.has(entry["books"])):
            raise self._damaged(f"its facts name {space} codes it does not hold")
        codes, books = self.source.array(entry["codes"]), self.source.array(entry["books"])
        matrix = self.vector_matrix(space)
        width = matrix.shape[1] // pq.SUBSPACES if matrix.ndim == 2 else 0
        if codes.dtype != np.uint8 or codes.shape != (len(matrix), pq.SUBSPACES) or books.dtype != np.float32 \
                or books.shape != (pq.SUBSPACES, pq.CENTROIDS, width):
            raise self._damaged(f"its {space} codes {codes.dtype}{list(codes.shape)} / codebooks "
                                f"{books.dtype}{list(books.shape)} do not fit a matrix of {list(matrix.shape)}")
        return codes, books

    def missing_codes(self) -> list[str]:
        """The spaces whose matrix is large enough for codes (CODES_ABOVE_BYTES) but has none of this
        version: the mapped file is written again by the next ``fashrec index`` (audit.mapped_findings)."""
        out = []
        for space in SPACES:
            matrix = self.vector_matrix(space)
            wants = matrix.ndim == 2 and pq.fits(matrix.shape[1]) and matrix.nbytes > CODES_ABOVE_BYTES
            if wants and self.codes(space) is None:
                out.append(space)
        return out

    def _damaged(self, why: str) -> FashrecIndexError:
        where = getattr(self.source, "path", "the index's mapped file")
        return FashrecIndexError(f"index file is corrupt: {where} ({why})",
                                 hint="rebuild it with: fashrec index CATALOG.jsonl")

    def shortlist(self, space: str, query: np.ndarray, candidates: np.ndarray, k: int
                  ) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, exact scores) of the allowed rows ``candidates`` whose codes score best, enough of them to
        hold the top ``k`` (ann.exact_search keeps the top k of these); None when the matrix has no codes or
        there are too few candidates to gain from them (every candidate is then scored exactly).

        At 1M a 2 % filter allows ~20k rows: their codes are 640 kB of a 32 MB array, their lookup costs
        ~2 ms, and only the shortlist's few hundred rows are gathered from the matrix (bench/RESULTS.md 9.5).
        The scores returned are ``scores_of`` on the matrix rows; only the choice of rows is approximate."""
        found = self.codes(space)
        keep = max(SHORTLIST_ROWS, SHORTLIST_PER_K * k)
        if found is None or len(candidates) < SHORTLIST_FACTOR * keep:
            return None
        codes, books = found
        candidates = np.asarray(candidates, np.int64)
        approx = pq.approximate(codes.take(candidates, axis=0), pq.table(books, query))
        rows = np.sort(candidates[np.argpartition(-approx, keep - 1)[:keep]])
        return rows, scores_of(self.read_rows(space, rows), query)

    def read_rows(self, space: str, rows: np.ndarray) -> np.ndarray:
        """A copy of the ``space`` matrix's ``rows`` (in its dtype; a shortlist's few hundred), never leaving
        a large one mapped: read by positioned reads (``Mapped.read_rows``). For 256 rows at 1M that took
        3.4-9.4 ms where a take through the mapping with one unmap after took 2.6-16.5 ms and the span by
        span copy (:meth:`_copy_spans`) 13.7-29.5 ms: the reads win when the file's pages are not all in
        the page cache (a fault reads a neighbourhood), and lose by ~1 ms when they are (side checks at load
        5-6 with other processes pressing the page cache)."""
        matrix = self.vector_matrix(space)
        rows = np.asarray(rows, np.int64)
        read = getattr(self.source, "read_rows", None)
        if read is None or matrix.nbytes <= READ_ABOVE_BYTES:
            return matrix.take(rows, axis=0)
        return read(space, rows)

    def _rows(self, space: str, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The matrix rows ``rows`` as float32, from the LRU of gathered rows when the same rows were read lately."""
        key = (space, len(rows), zlib.crc32(memoryview(np.ascontiguousarray(rows)).cast("B")))
        with self._gather_lock:
            hit = self._gathered.get(key)
            if hit is not None and np.array_equal(hit[0], rows):
                self._gathered.move_to_end(key)
                return hit[1]
        # kept widened: widening float16 rows is most of a search over gathered rows (20k rows: ~13-20
        # ms, against ~1.3 ms for the float32 product), exact, so the scores stay the same
        block = self._copy_spans(space, matrix, rows).astype(np.float32, copy=False)
        if block.nbytes <= GATHER_CACHE_BYTES:
            with self._gather_lock:
                replaced = self._gathered.get(key)   # another thread's copy, or rows whose key collides
                self._gathered[key] = (rows.copy(), block)
                self._gathered_bytes += block.nbytes - (replaced[1].nbytes if replaced is not None else 0)
                while self._gathered_bytes > GATHER_CACHE_BYTES:
                    self._gathered_bytes -= self._gathered.popitem(last=False)[1][1].nbytes
        return block

    def _copy_spans(self, space: str, matrix: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """A copy of ``matrix[rows]``, copied through the mapping in ascending order one span of
        SCAN_ROWS rows at a time, each span unmapped once its rows are copied: what the kernel maps
        around the touched pages is released span by span, so a 2 % filter at 1M never holds more than
        one span mapped. Positioned reads (one per run of rows) kept RSS as low but cost a system call a
        row: a new 2 % filter at 1M through the Lance store took 51-79 ms that way against 28-43 ms this
        way over a float16 matrix, about the same (41-70 ms, page faults bound) over a float32 one
        (bench/RESULTS.md 9.4)."""
        if len(rows) and (rows.min() < 0 or rows.max() >= len(matrix)):
            raise IndexError(f"rows {rows.min()}..{rows.max()} outside the {space} matrix of {len(matrix)} rows")
        order = None if np.all(rows[1:] >= rows[:-1]) else np.argsort(rows, kind="stable")
        ordered = rows if order is None else rows[order]
        out = np.empty((len(rows), *matrix.shape[1:]), matrix.dtype)
        cuts = np.searchsorted(ordered, np.arange(SCAN_ROWS, len(matrix), SCAN_ROWS)).tolist()
        for a, b in zip([0, *cuts], [*cuts, len(ordered)]):
            if a < b:
                np.take(matrix, ordered[a:b], axis=0, out=out[a:b])
                self.source.release(space, int(ordered[a]), int(ordered[b - 1]) + 1)
        if order is None:
            return out
        back = np.empty_like(out)
        back[order] = out
        return back

    def vocabulary(self) -> Vocabulary:
        return Vocabulary({a: dict(vals) for a, vals in self.facts["vocabulary"].items()},
                          dict(self.facts["brand_counts"]), dict(self.facts["size_counts"]), self.facts["priced"])

    def currency(self) -> str | None:
        currencies = self.facts.get("currencies") or []
        return currencies[0] if len(currencies) == 1 else None

    def offer_counts(self) -> dict[str, Any] | None:
        """:func:`offer_counts` as the writer stored them (None in a mapped file written before them)."""
        return self.facts.get("offer")

    def listed(self, attribute: str) -> int:
        return int(self.facts["listed"].get(attribute, 0))

    def describes(self, items_path: Path) -> bool:
        """Whether these facts were derived from the item store at ``items_path`` as it is now."""
        stamp = self.facts.get("items_stamp")
        try:
            return isinstance(stamp, list) and list(stamp) == item_stamp(items_path)
        except OSError:
            return False

    def postings(self, attribute: str) -> dict[str, np.ndarray]:
        """value -> ascending positions of the products carrying it (an attribute, or BRAND_FIELD or
        SIZES_FIELD)."""
        if attribute in (BRAND_FIELD, SIZES_FIELD):
            name = "brands" if attribute == BRAND_FIELD else "sizes"
            if attribute not in self._postings:
                positions, offsets = self.source.array(f"{name}.postings"), self.source.array(f"{name}.offsets")
                self._postings[attribute] = {v: positions[offsets[j]:offsets[j + 1]]
                                             for j, v in enumerate(self.facts.get(name, []))}
            return self._postings[attribute]
        if attribute not in self._postings:
            i = self._index.get(attribute)
            if i is None:
                self._postings[attribute] = {}
            else:
                positions, offsets = self.source.array(f"postings.{i}"), self.source.array(f"offsets.{i}")
                values = list(self.facts["vocabulary"][attribute])
                self._postings[attribute] = {v: positions[offsets[j]:offsets[j + 1]] for j, v in enumerate(values)}
        return self._postings[attribute]

    def column(self, name: str) -> np.ndarray:
        return self.source.array(name)

    def offering(self, size: str) -> np.ndarray:
        """Positions of the products that list ``size`` (normalised) among their sizes."""
        return self.postings(SIZES_FIELD).get(size, np.zeros(0, dtype=np.int32))

    def ids_at(self, positions: np.ndarray) -> list[str]:
        """The product ids at ``positions`` (from the sorted id table, without reading any row)."""
        if self._id_rank is None:
            order = self.source.array("ids.order")
            self._id_rank = np.empty_like(order)
            self._id_rank[order] = np.arange(len(order))
        table = self.source.array("ids")
        return [v.decode("utf-8") for v in table[self._id_rank[np.asarray(positions, np.int64)]]]

    def _lookup(self, name: str, key: str) -> int | None:
        found = int(self._lookup_many(name, [key])[0])
        return None if found < 0 else found

    def _lookup_many(self, name: str, keys: Sequence[str]) -> np.ndarray:
        """The positions of ``keys`` in the sorted lookup table ``name`` (ids, digests): -1 for a key it
        does not hold (one that is longer than every key in it included)."""
        table = self.source.array(name)
        encoded = [k.encode("utf-8") for k in keys]
        out = np.full(len(encoded), -1, np.int64)
        if not len(table) or not encoded:
            return out
        fits = np.array([len(e) <= table.dtype.itemsize for e in encoded], bool)
        probe = np.array([e if f else b"" for e, f in zip(encoded, fits)], dtype=table.dtype)
        at = np.searchsorted(table, probe, side="right") - 1
        found = fits & (at >= 0) & (table[np.maximum(at, 0)] == probe)
        out[found] = self.source.array(f"{name}.order")[at[found]]
        return out

    def position(self, product_id: str) -> int | None:
        return self._lookup("ids", product_id)

    def positions(self, product_ids: Sequence[str]) -> np.ndarray:
        """``position`` of many ids at once (-1 for an id this generation does not hold)."""
        return self._lookup_many("ids", product_ids)

    def position_of_image(self, digest: str) -> int | None:
        return self._lookup("digests", digest)

    def prompt_entry(self, attribute: str) -> tuple[str, np.ndarray] | None:
        entry = self.facts.get("prompts", {}).get(attribute)
        if not entry or not self.source.has(entry["array"]):
            return None
        return str(entry["key"]), self.source.array(entry["array"])

    def prompt_table(self, attribute: str, key: str) -> np.ndarray | None:
        """The stored prompt embeddings of ``attribute`` if they were made for exactly ``key``."""
        entry = self.prompt_entry(attribute)
        return entry[1] if entry is not None and entry[0] == key else None

