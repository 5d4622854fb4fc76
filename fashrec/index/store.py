"""Reading an index: products, vectors and filtered nearest-neighbour search."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..catalog import Product, Vocabulary
from ..errors import FashrecIndexError
from ..filters import Filter
from . import ann, items
from .manifest import Manifest, read_manifest


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

    @classmethod
    def open(cls, folder: Path) -> "Index":
        folder = Path(folder)
        manifest = read_manifest(folder)
        items_path = folder / manifest.items_file
        vectors_path = folder / manifest.vectors_file
        for p in (items_path, vectors_path):
            if not p.exists():
                raise FashrecIndexError(f"index file missing: {p}",
                                        hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
        dim = int(manifest.encoder["dimension"])
        conn = items.connect(items_path, readonly=True)
        try:
            loaded = items.load_all(conn, dim)
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
                f"{manifest.count})", hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
        graph = (ann.load_hnsw(vectors_path, dim, manifest.count, crc32=manifest.hnsw.get("crc32"))
                 if manifest.count else None)
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
        currencies = {p.currency for p in self.products if p.currency}
        return currencies.pop() if len(currencies) == 1 else None

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
            self._masks[key] = np.fromiter((flt.matches(p) for p in self.products), dtype=bool,
                                           count=len(self.products))
        return self._masks[key]

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
