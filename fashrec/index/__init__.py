"""Index layer: the index: product metadata + image/text embeddings (SQLite) + an HNSW graph (hnswlib).

Layout of an index folder::

    manifest.json         schema version, encoder, current generation (replaced atomically)
    items-<gen>.sqlite    metadata, digests and vectors of every item
    vectors-<gen>.hnsw    the hnswlib graph over image vectors
    .lock                 held by the one process allowed to write; records the files it writes

Other files in the folder are the user's and are never touched (:mod:`fashrec.index.ownership`).

Readers only ever follow the manifest, so they never see a half-written generation; the previous
generation stays on disk until the next publish, so a reader racing a writer still finds its files.
"""

from __future__ import annotations

from pathlib import Path

from fashrec.errors import FashrecIndexError
from fashrec.index.manifest import (
    MANIFEST_NAME,
    SCHEMA_VERSION,
    Manifest,
    read_manifest,
)
from fashrec.index.store import Index
from fashrec.settings import index_from_env, read_state

INDEX_SUFFIX = ".fashrec-index"


def index_dir_for(catalog: str | Path) -> Path:
    """The default index folder of a catalog: next to it, named after it."""
    catalog = Path(catalog).expanduser().resolve()
    return catalog.parent / f"{catalog.stem}{INDEX_SUFFIX}"


def default_index_dir() -> Path:
    """Where commands look for an index when --index is not given.

    $FASHREC_INDEX, else the single ``*.fashrec-index`` folder in the current directory, else the index
    most recently built on this machine (remembered in $FASHREC_HOME).
    """
    env = index_from_env()
    if env:
        return env
    here = sorted(p for p in Path.cwd().glob(f"*{INDEX_SUFFIX}") if (p / MANIFEST_NAME).exists())
    if len(here) == 1:
        return here[0]
    last = read_state().get("last_index")
    if last and (Path(last) / MANIFEST_NAME).exists():
        return Path(last)
    if len(here) > 1:
        raise FashrecIndexError(
            f"several indexes in {Path.cwd()}: {', '.join(p.name for p in here)}",
            hint="choose one with --index DIR")
    raise FashrecIndexError("no index found", hint="build one with: fashrec index CATALOG.jsonl, "
                            "or point to one with --index DIR / $FASHREC_INDEX")


def open_index(path: str | Path | None = None) -> Index:
    return Index.open(Path(path).expanduser() if path else default_index_dir())


__all__ = ["Index", "Manifest", "SCHEMA_VERSION", "open_index", "default_index_dir", "index_dir_for",
           "read_manifest"]
