"""Index layer: reading an index: products, vectors and filtered nearest-neighbour search."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fashrec.catalog import Product, Vocabulary, normalize_value
from fashrec.errors import FashrecIndexError
from fashrec.index import ann, items
from fashrec.index.filters import Filter
from fashrec.index.manifest import Manifest, read_manifest


class _GenerationGone(Exception):
    """A file of the generation being opened is missing (a writer may have just removed it)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.error = FashrecIndexError(f"index file missing: {path}",
                                       hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")


def _require(path: Path) -> None:
    if not path.exists():
        raise _GenerationGone(path)


# Posting-list keys for the products' own fields (no attribute name starts with "@").
BRAND_FIELD, SIZES_FIELD = "@brand", "@sizes"


def _field_values(product: Product, key: str) -> list[str]:
    """The normalized values a posting list of ``key`` holds for ``product``."""
    if key == BRAND_FIELD:
        return [normalize_value(product.brand)] if product.brand else []
    if key == SIZES_FIELD:
        return list({normalize_value(s) for s in product.sizes})
    return product.attributes.get(key, [])


@dataclass
class Index:
    """An opened index. Everything is in memory; opening is the only I/O."""

    folder: Path
    manifest: Manifest
    products: list[Product]
    image_vectors: np.ndarray
    text_vectors: np.ndarray
    graph: object | None = None
    _positions: dict[str, int] = field(default_factory=dict, repr=False)
    _by_digest: dict[str, int] = field(default_factory=dict, repr=False)
    _masks: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False)
    _vocabulary: Vocabulary | None = field(default=None, repr=False)
    _postings: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)
    _columns: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _facts: dict[str, object] = field(default_factory=dict, repr=False)

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
                raise gone.error from None
            try:
                return cls._open_generation(folder, newer)
            except _GenerationGone as again:
                raise again.error from None

    @classmethod
    def _open_generation(cls, folder: Path, manifest: Manifest) -> "Index":
        items_path = folder / manifest.items_file
        vectors_path = folder / manifest.vectors_file
        dim = int(manifest.encoder["dimension"])
        _require(items_path)
        try:
            conn = items.connect(items_path, readonly=True)
        except FashrecIndexError:
            _require(items_path)  # deleted while we connected: not corruption
            raise
        try:
            loaded = items.load_all(conn, dim, source=items_path)
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
        graph = None
        if manifest.count:
            _require(vectors_path)
            try:
                graph = ann.load_hnsw(vectors_path, dim, manifest.count, crc32=manifest.hnsw.get("crc32"))
            except (FileNotFoundError, FashrecIndexError):
                _require(vectors_path)  # deleted while we read it: not corruption
                raise
        products = [Product.from_metadata(m) for m in loaded.metas]
        index = cls(folder, manifest, products, loaded.image_vecs, loaded.text_vecs, graph)
        index._positions = {p.id: i for i, p in enumerate(products)}
        index._by_digest = {d: i for i, d in enumerate(loaded.image_digests)}
        return index

    # -- facts ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.products)

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
            self._vocabulary = Vocabulary.from_products(self.products)
        return self._vocabulary

    @property
    def currency(self) -> str | None:
        """The catalog's one currency (None when it has none or several); computed once."""
        if "currency" not in self._facts:
            currencies = {p.currency for p in self.products if p.currency}
            self._facts["currency"] = currencies.pop() if len(currencies) == 1 else None
        return self._facts["currency"]

    def coverage(self, attribute: str) -> float:
        """Share of products that list ``attribute`` at all (computed once per attribute)."""
        key = f"coverage:{attribute}"
        if key not in self._facts:
            listed = sum(1 for p in self.products if p.attributes.get(attribute))
            self._facts[key] = listed / len(self.products) if self.products else 0.0
        return self._facts[key]

    def position(self, product_id: str) -> int | None:
        return self._positions.get(product_id)

    def position_of_image(self, digest: str) -> int | None:
        """The product whose image has exactly these bytes (an anchor taken from the catalog)."""
        return self._by_digest.get(digest)

    def get(self, product_id: str) -> Product | None:
        pos = self._positions.get(product_id)
        return self.products[pos] if pos is not None else None

    def disk_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    # -- search -----------------------------------------------------------------------------------
    def mask(self, flt: Filter | None) -> np.ndarray | None:
        """Boolean mask of the products a filter lets through (cached per filter)."""
        if flt is None or flt.is_empty():
            return None
        key = flt.key()
        if key not in self._masks:
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[key] = self._compute_mask(flt)
        return self._masks[key]

    def _compute_mask(self, flt: Filter) -> np.ndarray:
        """``Filter.matches`` for every product at once, from per-value position lists.

        A Python loop over 35k products cost ~100 ms per new filter, most of a refinement's time.
        """
        mask = np.ones(len(self.products), dtype=bool)
        for attr, allowed in flt.include.items():
            mask &= self._value_mask(attr, allowed)
        for attr, banned in flt.exclude.items():
            mask &= ~self._value_mask(attr, banned)
        if flt.price_min is not None or flt.price_max is not None:
            prices = self._column("price")
            with np.errstate(invalid="ignore"):
                mask &= ~np.isnan(prices)
                if flt.price_min is not None:
                    mask &= prices >= flt.price_min
                if flt.price_max is not None:
                    mask &= prices <= flt.price_max
        if flt.in_stock_only:
            mask &= self._column("in_stock")
        if flt.brands:
            mask &= self._value_mask(BRAND_FIELD, flt.brands)
        if flt.exclude_brands:
            mask &= ~self._value_mask(BRAND_FIELD, flt.exclude_brands)
        if flt.sizes:
            mask &= self._value_mask(SIZES_FIELD, flt.sizes)
        for product_id in flt.exclude_ids:
            pos = self._positions.get(product_id)
            if pos is not None:
                mask[pos] = False
        return mask

    def _value_mask(self, attribute: str, values: set[str]) -> np.ndarray:
        if attribute not in self._postings:
            lists: dict[str, list[int]] = {}
            for pos, p in enumerate(self.products):
                for v in _field_values(p, attribute):
                    lists.setdefault(v, []).append(pos)
            self._postings[attribute] = {v: np.array(ps, dtype=np.int64) for v, ps in lists.items()}
        mask = np.zeros(len(self.products), dtype=bool)
        postings = self._postings[attribute]
        for v in values:
            if v in postings:
                mask[postings[v]] = True
        return mask

    def _column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            if name == "price":   # NaN where a product has no price (a price filter never matches it)
                self._columns[name] = np.array([np.nan if p.price is None else p.price for p in self.products],
                                               dtype=np.float64)
            else:                 # in stock unless the catalog says it is not
                self._columns[name] = np.array([p.in_stock is not False for p in self.products], dtype=bool)
        return self._columns[name]

    def nearest(self, query: np.ndarray, k: int, *, flt: Filter | None = None,
                ef: int | None = None, space: str = "image") -> ann.Neighbours:
        """Top-k items by cosine similarity of ``query`` to their image (or text) vectors."""
        allowed = self.mask(flt)
        if space == "text":
            return ann.exact_search(self.text_vectors, np.asarray(query, np.float32).reshape(-1), k, allowed)
        return ann.search(self.graph, self.image_vectors, query, k, allowed=allowed, ef=ef)

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
            "attributes": {a: len(vocab.values(a)) for a in vocab.attributes()},
            "disk_bytes": self.disk_bytes(),
            "updated_at": self.manifest.updated_at,
        }
