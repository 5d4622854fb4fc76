"""Index layer: reading an index: products, vectors and filtered nearest-neighbour search."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Sequence

import numpy as np

from fashrec.catalog import Product, Vocabulary
from fashrec.errors import FashrecIndexError
from fashrec.index import ann, huge_pages, items
from fashrec.index.columns import BRAND_FIELD, LARGE, SIZES_FIELD, Columns, offer_counts
from fashrec.index.filters import Filter
from fashrec.index.manifest import Manifest, read_manifest
from fashrec.index.mapped import Mapped
from fashrec.index.rows import ProductRows
from fashrec.index.stores import Searcher, dataset_uri


MASK_CACHE_BYTES = 64 << 20  # filter masks kept per open index (see Index.mask)


class _GenerationGone(Exception):
    """A file of the generation being opened is missing (a writer may have just removed it)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.error = FashrecIndexError(f"index file missing: {path}",
                                       hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")


def _require(path: Path) -> None:
    if not path.exists():
        raise _GenerationGone(path)


def _open_mapped(folder: Path, manifest: Manifest, items_path: Path) -> tuple[ProductRows, Columns]:
    path = folder / manifest.mapped_file
    _require(path)
    try:
        columns = Columns(Mapped(path, trusted=LARGE))
    except (FileNotFoundError, FashrecIndexError):
        _require(path)  # deleted while we mapped it: not corruption
        raise
    if not columns.describes(items_path):
        # The item store changed after the writer described it (a hand edit, a disk tool, a copy that
        # lost its times): every row is read and checked, as before mapped files, so a damaged row is
        # refused by name. The next `fashrec index` audits it and writes a new mapped file.
        return _open_rows(folder, manifest, items_path)
    dim = int(manifest.encoder["dimension"])
    shapes = [tuple(columns.vector_matrix(space).shape) for space in ("image", "text")]
    if len(columns) != manifest.count or len(columns.labels) != manifest.count or \
            any(shape != (manifest.count, dim) for shape in shapes):
        raise FashrecIndexError(f"index at {folder} is inconsistent ({path} holds {len(columns)} items of "
                                f"{shapes[0][1:]} dimensions, the manifest says {manifest.count} of {dim})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    rows = ProductRows(items_path, columns.labels, dimension=dim)
    try:
        rows.check()
    except (FileNotFoundError, FashrecIndexError):
        _require(items_path)  # deleted while we checked it: not corruption
        raise
    return rows, columns


def _open_rows(folder: Path, manifest: Manifest, items_path: Path) -> tuple[ProductRows, Columns]:
    """An index without a mapped file (written before they existed): read every row, as it used to."""
    try:
        conn = items.connect(items_path, readonly=True)
    except FashrecIndexError:
        _require(items_path)  # deleted while we connected: not corruption
        raise
    try:
        loaded = items.load_all(conn, int(manifest.encoder["dimension"]), source=items_path)
    except Exception as exc:
        if isinstance(exc, FashrecIndexError):
            raise
        raise FashrecIndexError(f"index item store is unreadable: {items_path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    finally:
        conn.close()
    if len(loaded.metas) != manifest.count:
        raise FashrecIndexError(
            f"index at {folder} is inconsistent ({len(loaded.metas)} items stored, manifest says "
            f"{manifest.count})", hint=items.REPAIR)
    return ProductRows(items_path, loaded.labels, loaded.metas), Columns.computed(loaded)


@dataclass
class Index:
    """An opened index: products read on demand, catalog-wide facts and vectors memory-mapped.

    Opening reads the manifest, maps ``mapped-<gen>.bin`` and loads the graph; nothing is parsed per
    product. An index written before mapped files existed is opened the old way (every row read and
    the same facts computed in memory), and gains its mapped file on its next ``fashrec index``.
    An index whose manifest names a Lance store loads no graph: ``searcher`` (the Lance table at the
    generation's version) runs its searches, filters included (:mod:`fashrec.index.stores`).
    """

    folder: Path
    manifest: Manifest | None
    products: Sequence[Product]
    columns: Columns
    graph: object | None = None
    searcher: Searcher | None = None
    _masks: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)
    _vocabulary: Vocabulary | None = field(default=None, repr=False)
    _facts: dict[str, object] = field(default_factory=dict, repr=False)

    @classmethod
    def from_products(cls, products: list[Product], image_vectors: np.ndarray, text_vectors: np.ndarray,
                      folder: Path = Path("."), manifest: Manifest | None = None, graph: object | None = None,
                      ) -> "Index":
        """An index over products in memory (tests, evaluations): the same facts, computed here."""
        loaded = items.LoadedItems(np.arange(len(products), dtype=np.int64), [p.metadata() for p in products], np.asarray(image_vectors, np.float32),
                                   np.asarray(text_vectors, np.float32), ["" for _ in products])
        return cls(folder, manifest, products, Columns.computed(loaded), graph)

    @classmethod
    def open(cls, folder: Path) -> "Index":
        folder = Path(folder)
        manifest = read_manifest(folder)
        try:
            return cls._open_generation(folder, manifest)
        except _GenerationGone as gone:
            # A writer published at least twice between our reading the manifest and opening its files
            # (it keeps one previous generation): the manifest now names a newer one.
            newer = read_manifest(folder)
            if newer.generation == manifest.generation:
                if manifest.store and not (folder / manifest.items_file).exists():
                    # no writer raced us: a folder with the manifest alone reads its Lance dataset
                    return cls._open_dataset(folder, manifest)
                raise gone.error from None
            try:
                return cls._open_generation(folder, newer)
            except _GenerationGone as again:
                raise again.error from None

    @classmethod
    def _open_generation(cls, folder: Path, manifest: Manifest) -> "Index":
        items_path = folder / manifest.items_file
        _require(items_path)
        if manifest.mapped_file:
            products, columns = _open_mapped(folder, manifest, items_path)
        else:
            products, columns = _open_rows(folder, manifest, items_path)
        if manifest.store:
            # Imported here: the Lance store's module (and secrets, datetime, its where builder) costs a
            # local index's every cold query ~8 ms of start-up for code it never runs.
            from fashrec.index.lance_store import LanceSearch

            searcher = LanceSearch.open(manifest.store, columns, manifest.count, folder)
            return cls(folder, manifest, products, columns, None, searcher)
        graph = None
        if manifest.count:
            vectors_path = folder / manifest.vectors_file
            _require(vectors_path)
            try:
                graph = ann.load_hnsw(vectors_path, int(manifest.encoder["dimension"]), manifest.count,
                                      crc32=manifest.hnsw.get("crc32"))
            except (FileNotFoundError, FashrecIndexError):
                _require(vectors_path)  # deleted while we read it: not corruption
                raise
        return cls(folder, manifest, products, columns, graph)

    @classmethod
    def _open_dataset(cls, folder: Path, manifest: Manifest) -> "Index":
        """A Lance generation read from its dataset alone, when the folder holds only the manifest (a
        server that was handed the manifest, the dataset on shared or object storage): products and
        catalog-wide facts are built in memory from the table's rows at the manifest's version (every
        row read at open, as before mapped files; the prompt tables are embedded by queries)."""
        from fashrec.index.lance_store import LanceSearch, open_version, read_generation  # see _open_generation

        table = open_version(manifest.store, manifest.count, folder)
        uri = dataset_uri(str(manifest.store.get("uri", "")), folder)
        loaded = read_generation(table, uri, int(manifest.encoder["dimension"]))
        columns = Columns.computed(loaded)
        products = ProductRows(folder / manifest.items_file, loaded.labels, loaded.metas)
        searcher = LanceSearch.open(manifest.store, columns, manifest.count, folder, table=table)
        return cls(folder, manifest, products, columns, None, searcher)

    # -- facts ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.columns)

    @property
    def image_vectors(self) -> np.ndarray:
        return self.columns.vector_matrix("image")

    @property
    def text_vectors(self) -> np.ndarray:
        return self.columns.vector_matrix("text")

    @property
    def dimension(self) -> int:
        return int(self.manifest.encoder["dimension"])

    @property
    def encoder_spec(self) -> str:
        return str(self.manifest.encoder["spec"])

    @property
    def encoder_identifier(self) -> str:
        return str(self.manifest.encoder["identifier"])

    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocabulary is None:
            self._vocabulary = self.columns.vocabulary()
        return self._vocabulary

    @property
    def currency(self) -> str | None:
        """The catalog's one currency (None when it has none or several)."""
        return self.columns.currency()

    def coverage(self, attribute: str) -> float:
        """Share of products that list ``attribute`` at all."""
        return self.columns.listed(attribute) / len(self) if len(self) else 0.0

    def carrying(self, attribute: str, *, by: str) -> dict[str, tuple[int, int]]:
        """For each value of ``by``: (products with it, how many of them list ``attribute``)."""
        listing = self._value_mask(attribute, set(self.columns.postings(attribute)))
        return {value: (len(positions), int(listing[positions].sum()))
                for value, positions in self.columns.postings(by).items()}

    def value_counts(self, attribute: str, mask: np.ndarray) -> dict[str, int]:
        """How many of the products under ``mask`` carry each value of ``attribute`` (from the postings:
        no product is read)."""
        return {v: n for v, positions in self.columns.postings(attribute).items()
                if (n := int(mask[positions].sum()))}

    def prompt_table(self, attribute: str, key: str) -> np.ndarray | None:
        """The zero-shot prompt embeddings ``fashrec index`` stored for ``attribute``, if made for ``key``."""
        return self.columns.prompt_table(attribute, key)

    def position(self, product_id: str) -> int | None:
        return self.columns.position(product_id)

    def position_of_image(self, digest: str) -> int | None:
        """The product whose image has exactly these bytes (an anchor taken from the catalog)."""
        return self.columns.position_of_image(digest)

    def get(self, product_id: str) -> Product | None:
        pos = self.position(product_id)
        return self.products[pos] if pos is not None else None

    def ids_where(self, attribute: str, value: str) -> list[str]:
        """Ids of the products carrying ``value`` for ``attribute``."""
        return self.columns.ids_at(self.columns.postings(attribute).get(value, np.zeros(0, np.int64)))

    def ids_priced_over(self, limit: float) -> list[str]:
        """Ids of the products with a price above ``limit`` (unpriced products are not)."""
        with np.errstate(invalid="ignore"):
            return self.columns.ids_at(np.flatnonzero(self.columns.column("price") > limit))

    def ids_without_size(self, size: str) -> list[str]:
        """Ids of the products that list sizes but not ``size`` (normalised)."""
        lacking = self.columns.column("sized").copy()
        lacking[self.columns.offering(size)] = False
        return self.columns.ids_at(np.flatnonzero(lacking))

    def products_at(self, positions) -> list[Product]:
        """The products at ``positions``, read from the item store in one go where not yet read."""
        if isinstance(self.products, ProductRows):
            return self.products.many([int(p) for p in positions])
        return [self.products[int(p)] for p in positions]

    def disk_bytes(self) -> int:
        """The index folder's files, and its Lance dataset's when that lives in the folder (``--store lance``)."""
        total = sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())
        uri = str(self.manifest.store.get("uri", "")) if self.manifest and self.manifest.store else ""
        lance = self.folder / uri if uri and "://" not in uri and not Path(uri).is_absolute() else None
        if lance is not None and lance.is_dir():
            total += sum(p.stat().st_size for p in lance.rglob("*") if p.is_file())
        return total

    # -- search -----------------------------------------------------------------------------------
    def mask(self, flt: Filter | None) -> np.ndarray | None:
        """Boolean mask of the products a filter lets through (cached per filter)."""
        if flt is None or flt.is_empty():
            return None
        key = flt.key()
        found = self._masks.get(key)
        if found is None:
            # computed into a local first: with requests on several threads (fashrec serve) another one
            # may clear the cache between storing and reading back
            found = self._compute_mask(flt)
            # a mask is a byte per product: 256 of them at 1M items would hold 256 MiB
            if len(self._masks) >= min(256, max(1, MASK_CACHE_BYTES // max(len(self), 1))):
                self._masks.clear()
            self._masks[key] = found
        return found

    def _compute_mask(self, flt: Filter) -> np.ndarray:
        """``Filter.matches`` for every product at once, from per-value position lists.

        A Python loop over 35k products cost ~100 ms per new filter, most of a refinement's time.
        """
        mask = np.ones(len(self), dtype=bool)
        for attr, allowed in flt.include.items():
            mask &= self._value_mask(attr, allowed)
        for attr, banned in flt.exclude.items():
            mask &= ~self._value_mask(attr, banned)
        if flt.price_min is not None or flt.price_max is not None:
            prices = self.columns.column("price")
            with np.errstate(invalid="ignore"):
                mask &= ~np.isnan(prices)
                if flt.price_min is not None:
                    mask &= prices >= flt.price_min
                if flt.price_max is not None:
                    mask &= prices <= flt.price_max
        if flt.in_stock_only:
            mask &= self.columns.column("in_stock")
        if flt.brands:
            mask &= self._value_mask(BRAND_FIELD, flt.brands)
        if flt.exclude_brands:
            mask &= ~self._value_mask(BRAND_FIELD, flt.exclude_brands)
        if flt.sizes:
            mask &= self._value_mask(SIZES_FIELD, flt.sizes)
        for product_id in flt.exclude_ids:
            pos = self.position(product_id)
            if pos is not None:
                mask[pos] = False
        return mask

    def _value_mask(self, attribute: str, values: set[str]) -> np.ndarray:
        mask = np.zeros(len(self), dtype=bool)
        postings = self.columns.postings(attribute)
        for v in values:
            if v in postings:
                mask[postings[v]] = True
        return mask

    def collapse_onto_huge_pages(self, *, background: bool = False) -> bool:
        """Move a large graph's memory onto huge pages now rather than over minutes (index.huge_pages:
        ~2 s per GiB of one core, then up to 1.4x faster searches at 1M items). Worth it in a process
        that serves many searches; ``background`` does it on a daemon thread while searches go on.
        False: nothing to move (a small graph, a Lance store, or a system without huge pages)."""
        block = ann.graph_block(self.graph)
        if block is None:
            return False
        if background:
            huge_pages.collapse_in_background(block)
            return True
        return block.collapse()

    def nearest(self, query: np.ndarray, k: int, *, flt: Filter | None = None,
                ef: int | None = None, space: str = "image") -> ann.Neighbours:
        """Top-k items by cosine similarity of ``query`` to their image (or text) vectors."""
        allowed = self.mask(flt)
        if self.searcher is not None:
            return self.searcher.nearest(query, k, flt=flt, allowed=allowed, ef=ef, space=space)
        if space == "text":
            return ann.exact_search(self.text_vectors, np.asarray(query, np.float32).reshape(-1), k, allowed,
                                    partial(self.columns.scores, "text"), partial(self.columns.shortlist, "text"))
        return ann.search(self.graph, self.image_vectors, query, k, allowed=allowed, ef=ef,
                          scorer=partial(self.columns.scores, "image"),
                          shortlist=partial(self.columns.shortlist, "image"))

    def scores(self, query: np.ndarray, space: str = "image") -> np.ndarray:
        """Cosine similarity of ``query`` to every product's image (or text) vector, in position order
        (a 1M-item mapped matrix is read in blocks rather than mapped whole: ``Columns.scores``)."""
        return self.columns.scores(space, np.asarray(query, np.float32).reshape(-1))

    def _offer_counts(self) -> dict:
        counts = self.columns.offer_counts()
        if counts is not None:
            return counts
        # A mapped file written before the offer counts: read those four fields alone, until the next
        # `fashrec index` writes them.
        if isinstance(self.products, ProductRows):
            conn = items.connect(self.products.items_path, readonly=True)
            try:
                return offer_counts(items.read_offer_fields(conn, self.products.items_path))
            finally:
                conn.close()
        return offer_counts(p.metadata() for p in self.products)

    def info(self) -> dict:
        vocab = self.vocabulary
        return {
            "path": str(self.folder),
            "items": len(self),
            "schema_version": self.manifest.schema_version,
            "encoder": self.manifest.encoder,
            "catalog": self.manifest.catalog,
            "generation": self.manifest.generation,
            "hnsw": self.manifest.hnsw,
            "store": self.searcher.describe() if self.searcher is not None else {"kind": "local"},
            "attributes": {a: len(vocab.values(a)) for a in vocab.attributes()},
            "vocabulary": vocab.to_dict(),
            **offer(self.columns.column("price"), self._offer_counts()),
            "disk_bytes": self.disk_bytes(),
            "updated_at": self.manifest.updated_at,
        }


def offer(price: np.ndarray, counts: dict) -> dict:
    """What a script needs to phrase a request: prices and currencies, brands, sizes, stock (with counts);
    from the price column and the stored :func:`fashrec.index.columns.offer_counts`, no product read."""
    prices = sorted(float(p) for p in price[~np.isnan(price)])
    currencies = counts["currencies"]
    return {
        "price": {"min": prices[0] if prices else None, "max": prices[-1] if prices else None,
                  "median": statistics.median(prices) if prices else None, "priced": len(prices),
                  "currency": next(iter(currencies)) if len(currencies) == 1 else None,
                  "currencies": dict(currencies)},
        "brands": dict(counts["brands"]),
        "sizes": dict(counts["sizes"]),
        "stock": dict(counts["stock"]),
    }
