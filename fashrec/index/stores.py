"""Index layer: where an index's vectors are searched: the local store (an hnswlib graph in the index
folder) or a LanceDB dataset (``--store lance[:URI]``).

Either way the index folder holds the manifest and the generation's item store and mapped file, so
products, catalog-wide facts and masks are read the same; what a store adds is :class:`Searcher`, the
filtered nearest-neighbour search :meth:`fashrec.index.Index.nearest` hands to it. The manifest
records the store (``store``: kind, URI, table, the Lance version the generation is), so ``--index DIR``
opens the right one without flags; an index without the field is local.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fashrec.errors import UsageError
from fashrec.index.ann import Neighbours
from fashrec.index.filters import Filter

STORES = "local, lance or lance:URI"
LANCE_FOLDER = "lance"   # `--store lance`: the dataset lives in this subfolder of the index folder


class Searcher(Protocol):
    """Filtered top-k search by cosine similarity; positions are rows of the generation's mapped file."""

    def nearest(self, query: np.ndarray, k: int, *, flt: Filter | None, allowed: np.ndarray | None,
                ef: int | None, space: str) -> Neighbours: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StoreSpec:
    """What ``--store`` asked for: ``kind`` "local" or "lance", and the dataset's URI for lance."""

    kind: str
    uri: str = ""

    def record(self) -> dict[str, Any]:
        return {} if self.kind == "local" else {"kind": self.kind, "uri": self.uri}


def parse_store(text: str, folder: Path) -> StoreSpec:
    """``local``, ``lance`` (a dataset inside the index folder, recorded relative to it) or ``lance:URI``
    (a local folder, made absolute so the index opens from anywhere, or any URI the installed LanceDB
    reads: s3://, gs://...)."""
    kind, sep, uri = text.strip().partition(":")
    kind = kind.strip().lower()
    if kind == "local" and not sep:
        return StoreSpec("local")
    if kind != "lance" or (sep and not uri.strip()):
        raise UsageError(f"--store: unknown store '{text}'", hint=f"choose {STORES} (e.g. --store lance:/data/shop.lance)")
    uri = uri.strip()
    if not uri:
        return StoreSpec("lance", LANCE_FOLDER)   # relative: the index folder can be moved or copied whole
    if "://" in uri:
        return StoreSpec("lance", uri)
    return StoreSpec("lance", str(Path(uri).expanduser().resolve()))


def dataset_uri(uri: str, folder: Path) -> str:
    """Where a recorded dataset is: a relative URI (``--store lance``) lies inside the index folder."""
    if "://" in uri or Path(uri).is_absolute():
        return uri
    return str(Path(folder) / uri)


def recorded_store(record: dict[str, Any] | None) -> StoreSpec:
    """The store a manifest's ``store`` field names (local when it names none)."""
    if not record or record.get("kind") != "lance":
        return StoreSpec("local")
    return StoreSpec("lance", str(record["uri"]))
