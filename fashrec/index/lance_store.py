"""Index layer: the LanceDB store (``fashrec index CATALOG --store lance[:URI]``): every item's id,
metadata, attribute tags, price, stock and both vectors in one Lance table, with an ANN index on the
image vectors and scalar indexes on what filters test, so a filtered search runs inside LanceDB's
``where`` (:mod:`fashrec.index.lance_where`; a pre-filter, or for a broad filter a post-filter of a
larger top k) and several processes can read one dataset.

Versions make it crash-safe: each ``fashrec index`` run changes the table (deletes, a merge on ``id``,
index upkeep: each a new Lance version) and only then publishes a manifest naming the version it
reached; readers check out exactly that version. A run killed midway leaves later versions nobody
names; the next run restores the published one first. Old versions are not pruned while writing (the
index upkeep keeps them all); after the publish, :mod:`fashrec.index.lance_versions` prunes those no
reader needs (the published and the previous generation stay).

lancedb, pylance (``lance``: the dataset queries go to) and pyarrow are imported only when a Lance store
is opened or written.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from fashrec.errors import FashrecIndexError
from fashrec.index import ann
from fashrec.index.ann import Neighbours
from fashrec.index.columns import Columns
from fashrec.index.filters import Filter
from fashrec.index.items import LoadedItems
from fashrec.index.lance_where import literal, row_tags, where_sql
from fashrec.index.stores import StoreSpec, dataset_uri
from fashrec.settings import quiet_lance

TABLE = "items"
# Below this many rows search is exact (flat): as fast as an index there, and LanceDB cannot train IVF
# on a tiny table. The same size below which the local store searches exactly (ann.EXACT_MAX_ITEMS).
ANN_MIN_ROWS = ann.EXACT_MAX_ITEMS
# IVF_HNSW_SQ, one graph over up to 1M rows (m 16, ef_construction 100), searched at ef 500, its top k
# re-scored exactly (refine 1: by fashrec from the generation's matrix, LanceSearch._run): at 1M
# recall@10 0.964 at p50 4.2 ms unfiltered at ef 300, built in 505 s (bench/RESULTS.md 9.2); over 300
# queries ef 300 gave 0.948 unfiltered and 0.965 with a 30 % filter, ef 500 0.961 and 0.978 for 1.05-1.08x
# the p50, and ef 600 no more recall (section 9.8). Several partitions
# cost a graph search each when all are probed (4 of 250k: 15 ms, section 9.1), and probing fewer lost
# recall on clustered data (0.77 at half of them); refine 20 bought 0.999 for ~10 ms more.
HNSW_TYPE, PQ_TYPE = "IVF_HNSW_SQ", "IVF_PQ"
PARTITION_ROWS = 1_000_000
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 100
EF, REFINE = 500, 1
# Filters letting through at least this share post-filter the graph's top k x POST_MARGIN / share
# (30 % at 1M: the top 100, recall@10 0.972 at p50 7.6 ms against 80 ms pre-filtered; section 9.2).
POST_FILTER_MIN_SHARE, POST_MARGIN, POST_MAX_LIMIT = 0.2, 3.0, 300
# Past this many rows the SQ graph's byte per dimension per row is what outgrows memory: IVF-PQ keeps
# dim/8 bytes per row (not measured at this size; chosen by the index's size alone).
PQ_PAST_ROWS = 5_000_000
NEVER_PRUNE = timedelta(days=36500)   # optimize() prunes old versions by default: never here
REPAIR = "rebuild it with: fashrec index CATALOG.jsonl --rebuild"
INSTALL = "install it with: pip install 'fashrec[scale]' (the index is sound: rebuilding would not help)"


def ann_plan(rows: int) -> dict[str, Any]:
    """The ANN index a table of ``rows`` gets: flat (none) below ANN_MIN_ROWS, else IVF_HNSW_SQ, and
    IVF-PQ past PQ_PAST_ROWS."""
    if rows < ANN_MIN_ROWS:
        return {"type": "flat"}
    partitions = max(1, rows // PARTITION_ROWS)
    return {"type": PQ_TYPE if rows > PQ_PAST_ROWS else HNSW_TYPE, "partitions": partitions}


def ann_query(plan: dict[str, Any], k: int, ef: int | None) -> dict[str, Any]:
    """The ANN knobs of a top-``k`` search of an index built by ``plan``: every partition probed."""
    query: dict[str, Any] = {"k": k, "nprobes": int(plan.get("partitions", 1)), "refine_factor": REFINE}
    if plan["type"] == HNSW_TYPE:
        query["ef"] = max(EF, k * REFINE, ef or 0)
    else:   # IVF-PQ's codes are coarse: re-rank more candidates with the full vectors
        query["refine_factor"] = max(REFINE, 20)
    return query


def post_filter_limit(k: int, share: float) -> int:
    """How many unfiltered neighbours to post-filter for a filtered top ``k`` when ``share`` of the rows
    pass the filter (0: pre-filter instead)."""
    if share < POST_FILTER_MIN_SHARE:
        return 0
    limit = math.ceil(k * POST_MARGIN / share)
    return limit if limit <= POST_MAX_LIMIT else 0


def _lance_error(action: str, uri: str, exc: BaseException) -> FashrecIndexError:
    return FashrecIndexError(f"could not {action} the Lance dataset at {uri} ({type(exc).__name__}: {exc})",
                             hint=REPAIR + " --store lance:URI")


# -- reading ----------------------------------------------------------------------------------------

def open_version(record: dict[str, Any], count: int, folder: Path) -> Any:
    """The Lance table a manifest's ``store`` record names, checked out at its version and holding
    ``count`` rows (else a clear error naming the dataset and version)."""
    uri, version = dataset_uri(str(record.get("uri", "")), folder), record.get("version")
    try:
        quiet_lance()
        import lancedb

        table = lancedb.connect(uri).open_table(str(record.get("table", TABLE)))
        table.checkout(int(version))
        rows = table.count_rows()
    except Exception as exc:
        # a manifest copied to another machine and not refreshed may name a version pruned since
        hint = REPAIR + " (a copied manifest.json: copy the writer's current one)"
        raise _cannot_open(uri, version, exc, hint) from exc
    if rows != count:
        raise FashrecIndexError(f"the index's Lance dataset {uri} (version {version}) holds {rows} items, "
                                f"its manifest says {count}", hint=REPAIR)
    return table


def _cannot_open(uri: str, version: Any, exc: Exception, hint: str) -> FashrecIndexError:
    """Why a generation's dataset cannot be opened: a package missing here (named, with what installs it),
    or the dataset itself (``hint``)."""
    where = f"the index's Lance dataset {uri} (version {version}) cannot be opened"
    if isinstance(exc, ImportError):   # lancedb's own ImportError for pylance names no module
        package = "pylance" if exc.name in (None, "lance") else exc.name
        return FashrecIndexError(f"{where}: {package} is not installed ({exc})", hint=INSTALL)
    return FashrecIndexError(f"{where} ({type(exc).__name__}: {exc})", hint=hint)


def read_generation(table: Any, uri: str, dimension: int) -> LoadedItems:
    """Every item of the checked-out version, as the item store would give them: what a reader with the
    manifest alone (no item store, no mapped file: another machine, a dataset on object storage) builds
    its products and catalog-wide facts from, in memory. Positions are the table's row order."""
    found = table.to_arrow().select(["id", "meta", "image_digest", "image", "text"])
    n = found.num_rows

    def matrix(name: str) -> np.ndarray:
        flat = found[name].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        if flat.size != n * dimension:
            raise FashrecIndexError(f"the Lance dataset {uri} holds {name} vectors of {flat.size // max(n, 1)} "
                                    f"values, the manifest says {dimension}", hint=REPAIR)
        return np.asarray(flat, np.float32).reshape(n, dimension)

    metas = []
    for i, text in enumerate(found["meta"].to_pylist()):
        try:
            meta = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise FashrecIndexError(f"the Lance dataset {uri}: row {i} (id '{found['id'][i]}') has unreadable "
                                    f"metadata ({exc})", hint=REPAIR) from exc
        metas.append(meta)
    return LoadedItems(np.arange(n, dtype=np.int64), metas, matrix("image"), matrix("text"),
                       [str(d) for d in found["image_digest"].to_pylist()])


@dataclass
class LanceSearch:
    """A published generation's Lance table, checked out at the version its manifest names."""

    record: dict[str, Any]
    table: Any
    columns: Columns
    rows: int
    _select: list[str] = field(default_factory=lambda: ["id", "_distance"])
    # row address -> position: (per-fragment bases, positions), built by the first filtered exact search
    _by_address: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, record: dict[str, Any], columns: Columns, count: int, folder: Path, *,
             table: Any = None) -> "LanceSearch":
        """``table``: one :func:`open_version` already opened (and counted) for this record."""
        uri = dataset_uri(str(record.get("uri", "")), folder)
        table = table if table is not None else open_version(record, count, folder)
        try:
            # Queries go to pylance's dataset at the same version: lancedb's query builder cost 2.3 ms
            # more per query at 1M (6.5 vs 4.2 ms p50, bench/RESULTS.md 9.2), whatever the index does.
            dataset = table.to_lance()
        except Exception as exc:
            raise _cannot_open(uri, record.get("version"), exc, REPAIR) from exc
        return cls({**record, "uri": uri}, dataset, columns, count)

    def describe(self) -> dict[str, Any]:
        return {"kind": "lance", "uri": self.record.get("uri"), "table": self.record.get("table", TABLE),
                "version": self.record.get("version"), "ann": self.record.get("ann", {})}

    def nearest(self, query: np.ndarray, k: int, *, flt: Filter | None, allowed: np.ndarray | None,
                ef: int | None, space: str) -> Neighbours:
        """Top-k by cosine similarity, the filter evaluated by Lance (the mask is only counted, to choose
        exact or ANN search as the local store does): exact search scores the rows Lance's scalar
        indexes keep; ANN search pre-filters the graph, or post-filters its top k x margin for a broad
        filter."""
        n_allowed = int(allowed.sum()) if allowed is not None else self.rows
        k = min(k, n_allowed)
        if k <= 0:
            return Neighbours(np.zeros(0, np.int64), np.zeros(0, np.float32), "lance-exact")
        plan, where = self.record.get("ann", {}), where_sql(flt)
        exact = (space != "image" or plan.get("type", "flat") == "flat" or n_allowed <= ann.EXACT_MAX_ITEMS
                 or n_allowed < ann.EXACT_SHARE * self.rows or k >= n_allowed)
        nearest: dict[str, Any] = {"column": space, "q": np.asarray(query, np.float32).reshape(-1), "k": k,
                                   "metric": "cosine"}
        if exact:
            return self._exact(nearest["q"], k, where, space)
        method = f"lance-{plan['type'].lower()}"
        limit = post_filter_limit(k, n_allowed / self.rows) if where else 0
        if limit:
            # A broad filter: the graph's top `limit` then the filter (post-filter) holds the filtered top
            # k far faster than a pre-filtered graph walk (RESULTS 9.2); if it holds fewer than k, the
            # pre-filtered search answers instead, so an answer is never cut short.
            found = self._run({**nearest, **ann_query(plan, limit, ef)}, where, False, method + "-postfilter")
            if len(found.positions) >= k:
                return Neighbours(found.positions[:k], found.scores[:k], found.method)
        return self._run({**nearest, **ann_query(plan, k, ef)}, where, True, method)

    def _exact(self, query: np.ndarray, k: int, where: str | None, space: str) -> Neighbours:
        """Exact top k among the rows Lance's ``where`` keeps: their row addresses come from the scalar
        indexes alone, and the generation's own matrix scores them as the local store does. At 1M a
        2 % filter took 34 ms this way against 218 ms for Lance's flat pre-filtered scan, whose cost
        is reading each allowed row's vector from the dataset (bench/RESULTS.md 9.3); through the whole
        store, a repeated 2 % filter 5.5-12 ms, a new one 28-76 ms (section 9.4), which a matrix with
        codes narrows to a shortlist scored exactly (Columns.shortlist, "lance-exact-rerank": 9.5)."""
        allowed = None
        if where:
            found = self.table.to_table(columns=[], filter=where, with_row_address=True)
            allowed = np.zeros(self.rows, bool)
            allowed[self._positions(found["_rowaddr"].to_numpy())] = True
        got = ann.exact_search(self.columns.vector_matrix(space), query, k, allowed,
                               lambda q, rows: self.columns.scores(space, q, rows),
                               lambda q, rows, k: self.columns.shortlist(space, q, rows, k))
        return Neighbours(got.positions, got.scores, f"lance-{got.method}")   # lance-exact or lance-exact-rerank

    def _positions(self, addresses: np.ndarray) -> np.ndarray:
        """The generation's positions of the rows at ``addresses`` (fragment << 32 | offset); the map is
        read once per open (the id column with its row addresses, looked up in the sorted id table)."""
        if self._by_address is None:
            found = self.table.to_table(columns=["id"], with_row_address=True)
            rows = found["_rowaddr"].to_numpy().astype(np.int64)
            positions = self.columns.positions(found["id"].to_pylist())
            if (positions < 0).any():
                missing = found["id"][int(np.flatnonzero(positions < 0)[0])]
                raise FashrecIndexError(f"the Lance dataset {self.record.get('uri')} holds '{missing}', which "
                                        "this index generation does not", hint=REPAIR)
            fragments = rows >> 32
            sizes = np.zeros(int(fragments.max(initial=0)) + 1, np.int64)
            np.maximum.at(sizes, fragments, (rows & 0xFFFFFFFF) + 1)
            bases = np.concatenate([[0], np.cumsum(sizes)[:-1]])
            table = np.full(int(sizes.sum()), -1, np.int64)
            table[bases[fragments] + (rows & 0xFFFFFFFF)] = positions
            self._by_address = (bases, table)
        bases, table = self._by_address
        addresses = np.asarray(addresses, np.int64)
        fragments = addresses >> 32
        if len(addresses) and (fragments.max() >= len(bases)):
            raise FashrecIndexError(f"the Lance dataset {self.record.get('uri')} answered a row this version "
                                    "does not hold", hint=REPAIR)
        out = table[bases[fragments] + (addresses & 0xFFFFFFFF)]
        if (out < 0).any():
            raise FashrecIndexError(f"the Lance dataset {self.record.get('uri')} answered a row this version "
                                    "does not hold", hint=REPAIR)
        return out

    def _run(self, nearest: dict[str, Any], where: str | None, prefilter: bool, method: str) -> Neighbours:
        if nearest.get("refine_factor") == 1:
            # Refine 1 only re-orders the graph's top k by the full vectors, which Lance reads from the
            # dataset: 101 of them for a 30 % filter's post-filtered top, of which ~28 pass. The same rows
            # from the graph alone, re-scored from the generation's own matrix (the local store's scores),
            # cost 0.83x the p50 at 1M, with the same rows (bench/RESULTS.md 9.9).
            nearest = {key: value for key, value in nearest.items() if key != "refine_factor"}
            found = self.table.to_table(columns=["id"], nearest=nearest, filter=where, prefilter=prefilter)
            return self._rescored(found["id"].to_pylist(), nearest["q"], nearest["column"], method)
        found = self.table.to_table(columns=self._select, nearest=nearest, filter=where, prefilter=prefilter)
        return self._neighbours(found["id"].to_pylist(), found["_distance"].to_numpy(), method)

    def _rescored(self, ids: list[str], query: np.ndarray, space: str, method: str) -> Neighbours:
        rows = np.sort(self._positions_of(ids))
        scores = ann.scores_of(self.columns.read_rows(space, rows), query) if len(rows) else np.zeros(0, np.float32)
        order = np.argsort(-scores, kind="stable")
        return Neighbours(rows[order], scores[order].astype(np.float32), method)

    def _positions_of(self, ids: list[str]) -> np.ndarray:
        positions = self.columns.positions(ids)
        if (positions < 0).any():
            missing = ids[int(np.flatnonzero(positions < 0)[0])]
            raise FashrecIndexError(f"the Lance dataset {self.record.get('uri')} holds '{missing}', which this "
                                    "index generation does not", hint=REPAIR)
        return np.asarray(positions, np.int64)

    def _neighbours(self, ids: list[str], distances: np.ndarray, method: str) -> Neighbours:
        # One lookup for all the ids: one at a time, 28 of them (a 30 % filter's post-filtered top 101)
        # took 1.15 ms of a ~9 ms query at 1M; together 0.05 ms (bench/RESULTS.md 9.7).
        positions = self._positions_of(ids)
        scores = (1.0 - np.asarray(distances, np.float64)).astype(np.float32)
        order = np.argsort(-scores, kind="stable")   # LanceDB sorts by distance; ties keep its order
        return Neighbours(positions[order], scores[order], method)


def lance_problem(record: dict[str, Any], count: int, folder: Path) -> str | None:
    """What keeps the Lance dataset a manifest names from serving its generation (None: nothing)."""
    try:
        open_version(record, count, folder)
    except FashrecIndexError as exc:
        return exc.message
    return None


# -- writing ----------------------------------------------------------------------------------------

def _schema(dimension: int):
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("tags", pa.list_(pa.string())), ("price", pa.float64()),
                      ("in_stock", pa.bool_()), ("image", pa.list_(pa.float32(), dimension)),
                      ("text", pa.list_(pa.float32(), dimension)), ("image_digest", pa.string()),
                      ("meta", pa.string())])


def _arrow_rows(loaded: LoadedItems, positions: np.ndarray, dimension: int):
    """The Lance rows of the items at ``positions`` of a written generation."""
    import pyarrow as pa

    positions = np.asarray(positions, np.int64)
    metas = [loaded.metas[p] for p in positions]

    def vectors(matrix: np.ndarray):
        flat = np.ascontiguousarray(matrix[positions], dtype=np.float32).reshape(-1)
        return pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dimension)

    return pa.table({
        "id": [str(m["id"]) for m in metas], "tags": [row_tags(m) for m in metas],
        "price": [None if m.get("price") is None else float(m["price"]) for m in metas],
        "in_stock": [m.get("in_stock") is not False for m in metas],   # unknown stock counts as in stock
        "image": vectors(loaded.image_vecs), "text": vectors(loaded.text_vecs),
        "image_digest": [loaded.image_digests[p] for p in positions],
        "meta": [json.dumps(m, ensure_ascii=False) for m in metas],
    }, schema=_schema(dimension))


@dataclass
class LanceChanges:
    """What a generation changes in the one it builds on, by id (see publish.Changes)."""

    removed: list[str]
    changed: list[str]      # new, re-encoded and metadata-only items


def write_lance(spec: StoreSpec, folder: Path, previous: dict[str, Any] | None, previous_rows: int,
                changes: LanceChanges, loaded: LoadedItems, dimension: int, notes: list[str]) -> dict[str, Any]:
    """Bring the Lance table at ``spec.uri`` to the generation ``loaded`` holds; the manifest's record
    of it (with the version reached). ``previous``: the record of the generation built on (of
    ``previous_rows`` items), if any."""
    try:
        quiet_lance()
        import lancedb

        uri = dataset_uri(spec.uri, folder)
        db = lancedb.connect(uri)
        table = _resume(db, spec, uri, previous, previous_rows, notes)
        if table is None:
            table = db.create_table(TABLE, data=_arrow_rows(loaded, np.arange(len(loaded.metas)), dimension),
                                    mode="overwrite")
            _scalar_indexes(table, len(loaded.metas))
            plan = _ann_index(table, len(loaded.metas), None, dimension, changed=False)
        else:
            _apply(table, changes, loaded, dimension)
            plan = _ann_index(table, len(loaded.metas), previous.get("ann"), dimension,
                              changed=bool(changes.removed or changes.changed))
        rows = table.count_rows()
    except FashrecIndexError:
        raise
    except Exception as exc:
        raise _lance_error("write", dataset_uri(spec.uri, folder), exc) from exc
    if rows != len(loaded.metas):
        raise FashrecIndexError(f"the Lance dataset at {dataset_uri(spec.uri, folder)} holds {rows} items after the update, the "
                                f"index {len(loaded.metas)}: nothing was published", hint=REPAIR + " --store lance:URI")
    # Names this index's tags on the dataset (lance_versions): kept across runs and when the folder moves
    same = previous and previous.get("kind") == "lance" and previous.get("uri") == spec.uri
    owner = str(previous.get("owner") or "") if same else ""
    return {**spec.record(), "table": TABLE, "version": int(table.version), "ann": plan,
            "owner": owner or secrets.token_hex(6)}


def _resume(db, spec: StoreSpec, uri: str, previous: dict[str, Any] | None, previous_rows: int, notes: list[str]):
    """The table at the version the published generation names, made the latest again (a killed run
    may have left later ones); None when there is nothing to build on (then it is written whole)."""
    if not previous or previous.get("kind") != "lance" or previous.get("uri") != spec.uri:
        return None
    try:
        table = db.open_table(str(previous.get("table", TABLE)))
        if table.version != int(previous["version"]):
            table.restore(int(previous["version"]))
            notes.append(f"Lance dataset: back at version {previous['version']} (a later one was left by an "
                         "interrupted run)")
        if table.count_rows() == previous_rows:
            return table
        notes.append(f"repaired: the Lance dataset at {uri} (version {previous['version']}) did not hold "
                     "the published generation, so it was written whole")
        return None
    except Exception as exc:   # gone or damaged: the whole generation is written again
        notes.append(f"repaired: the Lance dataset at {uri} (version {previous.get('version')}) could not "
                     f"be opened ({type(exc).__name__}), so it was written whole")
        return None


def _apply(table, changes: LanceChanges, loaded: LoadedItems, dimension: int) -> None:
    """Deletes, then one merge on ``id`` for every new or changed item (each a Lance version)."""
    for start in range(0, len(changes.removed), 1000):
        chunk = changes.removed[start:start + 1000]
        table.delete(f"id IN ({', '.join(literal(i) for i in chunk)})")
    if changes.changed:
        where = {str(m["id"]): p for p, m in enumerate(loaded.metas)}
        positions = np.array([where[i] for i in changes.changed], np.int64)
        rows = _arrow_rows(loaded, positions, dimension)
        table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows)


def _scalar_indexes(table, rows: int) -> None:
    """What filters test: ids, attribute/brand/size tags, price and stock (an empty table has none)."""
    from lancedb.index import Bitmap, BTree, LabelList

    if not rows:
        return
    for column, config in (("id", BTree()), ("tags", LabelList()), ("price", BTree()), ("in_stock", Bitmap())):
        table.create_index(column, config=config, replace=True)


def _ann_index(table, rows: int, had: dict[str, Any] | None, dimension: int, *, changed: bool) -> dict[str, Any]:
    """Train the ANN index when the table's size calls for another one, else fold new rows into the
    existing indexes (rows no index covers yet are still searched, by a scan)."""
    from lancedb.index import HnswSq, IvfPq

    plan = ann_plan(rows)
    if plan["type"] != "flat" and plan != had:
        config = (IvfPq(distance_type="cosine", num_partitions=plan["partitions"], num_sub_vectors=max(1, dimension // 8))
                  if plan["type"] == PQ_TYPE else HnswSq(distance_type="cosine", num_partitions=plan["partitions"], m=HNSW_M,
                                 ef_construction=HNSW_EF_CONSTRUCTION))
        table.create_index("image", config=config, replace=True)
    elif changed:
        table.optimize(cleanup_older_than=NEVER_PRUNE)
    return plan
