"""Index layer: product-quantisation codes, so a selective filter over a large matrix reads few rows.

A filter that lets 2 % of a 1M-item index through is searched exactly over the ~20k rows it allows,
and gathering 20k scattered rows of a mapped matrix is page-fault bound (28-76 ms for a filter's first
use, bench/RESULTS.md 9.4). Each row's vector is also stored as ``SUBSPACES`` one-byte codes (32 bytes
a row: 32 MB at 1M, against 977 MiB of float32): the vector cut into ``SUBSPACES`` slices, each slice
replaced by the nearest of ``CENTROIDS`` centroids learnt for that slice by k-means. A query scores the
allowed rows' codes from a lookup table (``table``: the query's slice against every centroid) and
re-scores only the best few hundred exactly (``Columns.shortlist``), so what it returns is exact for
the rows it returns; only which rows reach the shortlist is approximate.

Training is seeded and deterministic: the same vectors give the same codebooks and codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

VERSION = 1            # of the codes' layout and training (facts["codes"][space]["version"])
SUBSPACES = 32         # slices of a vector (8 values each at 256 dimensions)
CENTROIDS = 256        # per slice: a code is one byte
TRAIN_ROWS = 32_768    # rows sampled to train on (128 per centroid)
ITERATIONS = 8         # k-means rounds (codebooks move little after ~5 on a sample this size)
SEED = 20261202
ENCODE_ROWS = 16_384   # rows encoded at a time (a 16k x 256 float32 distance block: 16 MiB)


def fits(dimension: int) -> bool:
    """Whether vectors of ``dimension`` values cut into SUBSPACES equal slices."""
    return dimension >= SUBSPACES and dimension % SUBSPACES == 0


def parameters(count: int) -> dict[str, Any]:
    """What the codes were made with (stored in the mapped file's facts; codes made otherwise are not reused)."""
    return {"version": VERSION, "subspaces": SUBSPACES, "centroids": CENTROIDS, "train_rows": TRAIN_ROWS,
            "iterations": ITERATIONS, "seed": SEED, "trained_on": int(count)}


def _slices(block: np.ndarray) -> np.ndarray:
    """(rows, dim) -> (SUBSPACES, rows, dim / SUBSPACES + 1) float32, each slice with a last column of ones
    (see _augmented)."""
    rows, dim = block.shape
    out = np.ones((SUBSPACES, rows, dim // SUBSPACES + 1), np.float32)
    out[:, :, :-1] = np.asarray(block).reshape(rows, SUBSPACES, dim // SUBSPACES).transpose(1, 0, 2)
    return out


def _augmented(books: np.ndarray) -> np.ndarray:
    """Per slice, (dim / SUBSPACES + 1, CENTROIDS): the centroids with -|c|^2 / 2 as a last row, so that
    ``[x, 1] @ it`` is x.c - |c|^2 / 2, whose argmax is the nearest centroid (squared Euclidean): one
    matmul and one argmax a block (the unfused expression with its temporaries was 3x slower)."""
    half = -0.5 * np.einsum("skd,skd->sk", books, books)
    return np.ascontiguousarray(np.concatenate([books, half[:, :, None]], axis=2).transpose(0, 2, 1))


def _nearest(x: np.ndarray, augmented: np.ndarray, work: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid of each row of ``x`` (rows, dim / SUBSPACES + 1, last column 1)."""
    out = work[:len(x)]
    np.matmul(x, augmented, out=out)
    return out.argmax(axis=1)


def train(matrix: np.ndarray) -> np.ndarray:
    """Codebooks (SUBSPACES, CENTROIDS, dim / SUBSPACES) float32, k-means on a seeded sample of rows."""
    n, dim = matrix.shape
    width = dim // SUBSPACES
    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(n, size=min(n, TRAIN_ROWS), replace=False))
    x = _slices(matrix[sample])
    count = len(sample)
    work = np.empty((count, CENTROIDS), np.float32)
    books = np.empty((SUBSPACES, CENTROIDS, width), np.float32)
    for s in range(SUBSPACES):
        xs = x[s]
        # start from sampled rows (with fewer rows than centroids, some repeat: harmless)
        centroids = xs[rng.choice(count, size=CENTROIDS, replace=count < CENTROIDS), :width].copy()
        for _ in range(ITERATIONS):
            assign = _nearest(xs, _augmented(centroids[None])[0], work)
            sizes = np.bincount(assign, minlength=CENTROIDS)
            sums = np.stack([np.bincount(assign, weights=xs[:, d], minlength=CENTROIDS) for d in range(width)], 1)
            empty = sizes == 0
            centroids[~empty] = sums[~empty] / sizes[~empty, None]
            if empty.any():   # an empty cluster restarts at a sampled row (seeded: deterministic)
                centroids[empty] = xs[rng.choice(count, size=int(empty.sum())), :width]
        books[s] = centroids
    return books


def encode(matrix: np.ndarray, books: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Codes (len(rows), SUBSPACES) uint8 of ``matrix`` (all rows, or ``rows``) against ``books``."""
    count = len(matrix) if rows is None else len(rows)
    out = np.empty((count, SUBSPACES), np.uint8)
    augmented = _augmented(books)
    work = np.empty((min(ENCODE_ROWS, count), CENTROIDS), np.float32)
    for start in range(0, count, ENCODE_ROWS):
        stop = min(start + ENCODE_ROWS, count)
        block = _slices(matrix[start:stop] if rows is None else matrix[rows[start:stop]])
        for s in range(SUBSPACES):
            out[start:stop, s] = _nearest(block[s], augmented[s], work)
    return out


def table(books: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The query's lookup table (SUBSPACES, CENTROIDS): entry [s, c] is slice s of the query times
    centroid c of slice s, so a row's approximate score is the sum of its SUBSPACES entries."""
    query = np.asarray(query, np.float32).reshape(SUBSPACES, -1, 1)
    return np.matmul(books, query)[:, :, 0]


def approximate(codes: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    """Approximate inner products of the rows whose ``codes`` (rows, SUBSPACES) are given, from the
    query's ``table``. One slice at a time over the codes transposed: 1.7 ms for 20k rows, against 3.6
    ms for one ``np.take`` of the flattened table at ``codes + offsets`` (measured, one thread)."""
    by_slice = np.ascontiguousarray(codes.T)
    out = lookup[0].take(by_slice[0])
    for s in range(1, len(by_slice)):
        out += lookup[s].take(by_slice[s])
    return out
