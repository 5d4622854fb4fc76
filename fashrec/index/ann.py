"""Index layer: nearest-neighbour search: an hnswlib graph, with exact search when a filter is very selective.

hnswlib's filtered search walks the graph and skips rejected labels; when only a small share of the
catalog passes the filter that walk degrades (it must visit most of the graph to find k survivors),
so below ``EXACT_SHARE`` we score the survivors directly, which is both exact and faster.
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from fashrec.errors import FashrecIndexError
from fashrec.index import graph_checks, huge_pages

# Documented defaults (see bench/ann_bench.py for the recall/latency trade-off behind them).
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128  # recall@10 0.9993 on the real 35k index, 1.000 at 100k clustered (bench/RESULTS.md 1.2)
# From HNSW_LARGE_ITEMS items on a graph is built with HNSW_M_LARGE links a node (2x that on level 0)
# and searched with HNSW_EF_LARGE: on the ANN bench's 1M set, M 32 at ef 64 gave recall@10 0.993 at
# 0.69x the p50 of M 16 at ef 160 (0.983), for 2.4x the build time and 1.11x the graph's memory
# (bench/RESULTS.md 12.5). The rules are default_m(n) and default_ef(n, m).
HNSW_LARGE_ITEMS = 500_000
HNSW_M_LARGE = 32
HNSW_EF_LARGE = 64
# A large graph built with M 16 (by fashrec before HNSW_M_LARGE) walks wider for its recall: ef 128 gave
# 0.979 at 1M, ef 160 0.983-0.986 (RESULTS.md 12.2-12.4).
HNSW_EF_LARGE_M16 = 160
EXACT_SHARE = 0.05      # filters letting through less than 5 % of items use exact search
EXACT_MAX_ITEMS = 20_000  # ... or fewer than this many items in absolute terms
_GRAPH_LOCK = threading.Lock()
_LOAD_LOCK = threading.Lock()  # one large graph load at a time, so its new memory is told apart (huge_pages)
# Each loaded large graph's level-0 block (its vectors and links), advised onto huge pages at load and
# collapsed onto them on request (collapse_onto_huge_pages); keyed weakly: the entry goes with the graph.
_BLOCKS: "weakref.WeakKeyDictionary[object, huge_pages.Block]" = weakref.WeakKeyDictionary()


def default_m(items: int) -> int:
    """The M a graph of ``items`` items is built with: HNSW_M, and HNSW_M_LARGE from HNSW_LARGE_ITEMS on
    (more links a node let a large graph's walk reach its neighbours in fewer steps)."""
    return HNSW_M_LARGE if items >= HNSW_LARGE_ITEMS else HNSW_M


def default_ef(items: int, m: int | None = None) -> int:
    """The search ef for a graph of ``items`` items built with ``m`` (None: default_m's) when a query
    names none: HNSW_EF_SEARCH, and from HNSW_LARGE_ITEMS items on HNSW_EF_LARGE, or HNSW_EF_LARGE_M16 for
    a large graph with fewer links (one built before HNSW_M_LARGE: its next ``fashrec index`` rebuilds it)."""
    if items < HNSW_LARGE_ITEMS:
        return HNSW_EF_SEARCH
    return HNSW_EF_LARGE if (m or default_m(items)) >= HNSW_M_LARGE else HNSW_EF_LARGE_M16


def graph_ef(graph, items: int) -> int:
    """default_ef for a loaded or built graph (its own M); a Lance store's (no hnswlib graph): the shipped M's."""
    return default_ef(items, getattr(graph, "M", None))


@dataclass
class Neighbours:
    positions: np.ndarray  # row positions into the vectors matrix
    scores: np.ndarray     # cosine similarity, descending
    method: str            # "hnsw", "hnsw-filtered", "exact" or "exact-rerank" (see exact_search)


def build_hnsw(vectors: np.ndarray, *, m: int | None = None, ef_construction: int = HNSW_EF_CONSTRUCTION,
               threads: int = -1):
    """A graph over ``vectors`` (row i is label i), with ``m`` links a node (None: default_m's)."""
    import hnswlib

    n, dim = vectors.shape
    m = m or default_m(n)
    graph = hnswlib.Index(space="cosine", dim=dim)
    graph.init_index(max_elements=max(n, 1), M=m, ef_construction=ef_construction, random_seed=100)
    if n:
        graph.add_items(vectors, np.arange(n), num_threads=threads)
    graph.set_ef(default_ef(n, m))
    return graph


def file_crc32(path: Path) -> int:
    """CRC-32 of a file (about 1 GB/s).

    hnswlib trusts its files blindly: a damaged link list of the right size loads fine and then
    crashes the whole process (segfault) on the first search. The manifest records this checksum so
    such a file is refused with a message instead.
    """
    crc = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            crc = zlib.crc32(chunk, crc)
    return crc


def save_hnsw(graph, path: Path, count: int) -> int:
    """Save ``graph`` and prove the file complete; returns its CRC-32 (for the manifest).

    hnswlib writes through a C++ stream and ignores write errors: on a full disk ``save_index`` returns
    normally after writing part of the file. So the file is flushed to disk, then loaded back (hnswlib
    checks every element against the file size) before anyone may publish it.
    """
    import hnswlib

    graph.save_index(str(path))
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())
    probe = hnswlib.Index(space=graph.space, dim=graph.dim)
    try:
        probe.load_index(str(path), max_elements=max(count, 1))
        complete = probe.get_current_count() == count
    except RuntimeError:
        complete = False
    del probe
    if not complete:
        raise FashrecIndexError(f"the vector index {path} could not be written completely "
                                f"({path.stat().st_size} bytes on disk): is the disk full?",
                                hint="free some disk space, then run the command again")
    return file_crc32(path)


def load_hnsw(path: Path, dim: int, count: int, *, crc32: int | None = None):
    """Load a saved graph; ``crc32`` (from the manifest; None for indexes built before it existed)
    is checked first, unless this very file verified before (graph_checks: same inode, size, mtime and
    ctime)."""
    import hnswlib

    if crc32 is not None and not graph_checks.matches(path, crc32, file_crc32):
        raise FashrecIndexError(f"vector index is corrupt (checksum mismatch): {path}",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    graph = hnswlib.Index(space="cosine", dim=dim)
    try:
        _load_into(graph, path, count)
    except Exception as exc:  # hnswlib raises RuntimeError / others on damaged files
        raise FashrecIndexError(f"vector index is corrupt or unreadable: {path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    if graph.get_current_count() != count:
        raise FashrecIndexError(
            f"vector index {path} holds {graph.get_current_count()} items, the item store {count}",
            hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    graph.set_ef(graph_ef(graph, count))
    return graph


def _load_into(graph, path: Path, count: int) -> None:
    """``graph.load_index``; a graph file from huge_pages.ABOVE_BYTES on has the block hnswlib read it
    into advised onto huge pages (see huge_pages: up to 1.4x faster searches at 1M items)."""
    size = path.stat().st_size
    if size < huge_pages.ABOVE_BYTES:
        graph.load_index(str(path), max_elements=max(count, 1))
        return
    with _LOAD_LOCK:
        # hnswlib's level-0 block holds nearly all of the file (vectors and links): half of it is a
        # floor no other allocation of the load comes near
        _, block = huge_pages.allocated_by(lambda: graph.load_index(str(path), max_elements=max(count, 1)),
                                           at_least=size // 2)
    if block is not None:
        block.advise()
        _BLOCKS[graph] = block


def graph_block(graph) -> huge_pages.Block | None:
    """The huge-page block of a graph loaded by load_hnsw (None: small, or not found on this system)."""
    return _BLOCKS.get(graph) if graph is not None else None


def collapse_onto_huge_pages(graph) -> bool:
    """Put a large loaded graph's block on huge pages now (~2 s per GiB, one core; searches may run
    meanwhile); False when there is nothing to do or the system cannot."""
    block = graph_block(graph)
    return block.collapse() if block is not None else False


BLOCK_ROWS = 256  # rows of a float16 matrix widened at a time: a block that stays in cache (fastest, measured)


def scores_of(vectors: np.ndarray, query: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """``vectors[rows] @ query`` in float32. A float16 matrix (the mapped file's exact-search copies) is
    widened a block of rows at a time: numpy would widen the whole matrix (or every selected row) into
    one float32 temporary, which is the memory float16 storage saves."""
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    if vectors.dtype == np.float32:
        return (vectors if rows is None else vectors[rows]) @ query
    count = len(vectors) if rows is None else len(rows)
    out = np.empty(count, dtype=np.float32)
    wide = np.empty((min(BLOCK_ROWS, count), vectors.shape[1]), dtype=np.float32)
    for start in range(0, count, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, count)
        block = wide[:stop - start]
        np.copyto(block, vectors[start:stop] if rows is None else vectors[rows[start:stop]])
        np.matmul(block, query, out=out[start:stop])
    return out


# (query, rows or None for all) -> float32 scores; Columns.scores reads a large mapped matrix's rows
# without mapping them (the default, scores_of, reads through whatever ``vectors`` is)
Scorer = Callable[[np.ndarray, "np.ndarray | None"], np.ndarray]
# (query, allowed rows, k) -> (rows, their exact scores): a shortlist of the allowed rows that holds the
# top k, chosen approximately (Columns.shortlist: product-quantisation codes), or None to score them all
Shortlist = Callable[[np.ndarray, np.ndarray, int], "tuple[np.ndarray, np.ndarray] | None"]


def exact_search(vectors: np.ndarray, query: np.ndarray, k: int,
                 allowed: np.ndarray | None = None, scorer: Scorer | None = None,
                 shortlist: Shortlist | None = None) -> Neighbours:
    """Top-k of the ``allowed`` rows (all rows without a mask) by exact score. With ``shortlist``, a
    filtered search may score only the rows it picks: the method is then "exact-rerank" (the scores
    returned are exact; that no better allowed row was left out is likely, not certain)."""
    candidates = np.flatnonzero(allowed) if allowed is not None else None
    method, picked = "exact", None
    if shortlist is not None and candidates is not None and k > 0:
        picked = shortlist(query, candidates, k)
    if picked is not None:
        (candidates, scores), method = picked, "exact-rerank"
    else:
        scores = scorer(query, candidates) if scorer is not None else scores_of(vectors, query, candidates)
    k = min(k, scores.shape[0])
    if k <= 0:
        return Neighbours(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), method)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    positions = candidates[top] if candidates is not None else top
    return Neighbours(positions.astype(np.int64), scores[top].astype(np.float32), method)


def search(graph, vectors: np.ndarray, query: np.ndarray, k: int, *,
           allowed: np.ndarray | None = None, ef: int | None = None, scorer: Scorer | None = None,
           shortlist: Shortlist | None = None) -> Neighbours:
    """Top-k by cosine similarity, among ``allowed`` rows when a mask is given; ``scorer`` scores rows
    for exact search (default: ``scores_of`` on ``vectors``), ``shortlist`` may narrow a filtered one
    (see exact_search)."""
    n = vectors.shape[0]
    query = np.asarray(query, dtype=np.float32).reshape(-1)
    if n == 0 or k <= 0:
        return Neighbours(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), "exact")
    n_allowed = int(allowed.sum()) if allowed is not None else n
    if n_allowed == 0:
        return Neighbours(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), "exact")
    small = n <= EXACT_MAX_ITEMS or n_allowed <= EXACT_MAX_ITEMS
    if graph is None or small or (allowed is not None and n_allowed < EXACT_SHARE * n) or k >= n_allowed:
        return exact_search(vectors, query, k, allowed, scorer, shortlist)
    k = min(k, n_allowed)
    with _GRAPH_LOCK:   # ef is the graph's state: a query on another thread must not change it mid-search
        graph.set_ef(max(ef or graph_ef(graph, n), k))
        if allowed is not None:
            labels, dists = graph.knn_query(query, k=k, filter=lambda label: bool(allowed[label]), num_threads=1)
            method = "hnsw-filtered"
        else:
            labels, dists = graph.knn_query(query, k=k, num_threads=1)
            method = "hnsw"
    return Neighbours(labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32), method)
