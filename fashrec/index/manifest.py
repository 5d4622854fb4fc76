"""Index layer: the index manifest: the one small file that says which generation of the index is current.

Every other index file is written under a new generation name first; replacing the manifest (write to
a temp file, fsync, rename) is the single atomic step that publishes it. A crash before that step
leaves the previous manifest, and so the previous index, untouched.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fashrec.errors import FashrecIndexError
from fashrec.fsutil import atomic_write_bytes

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"


@dataclass
class Manifest:
    schema_version: int
    encoder: dict[str, Any]  # spec, identifier, dimension
    generation: int
    items_file: str
    vectors_file: str
    count: int
    catalog: str | None = None
    hnsw: dict[str, int] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    fashrec_version: str = ""
    # Earlier generations still on disk for readers that read the manifest just before a publish:
    # [{"generation", "items_file", "vectors_file"[, "mapped_file"]}]. An older fashrec ignores this field.
    retained: list[dict[str, Any]] = field(default_factory=list)
    # What queries map instead of loading (fashrec/index/mapped.py); "" in an index written before it
    # existed, which readers then open the old way. An older fashrec ignores this field.
    mapped_file: str = ""
    # Where vectors are searched (fashrec/index/stores.py): {} for the local store (the hnswlib graph), or
    # {"kind": "lance", "uri", "table", "version", "ann"}: the Lance version this generation is. An older
    # fashrec ignores this field and searches the generation's own graph, which is always written.
    store: dict[str, Any] = field(default_factory=dict)

    def files(self) -> set[str]:
        """Every index file this manifest references, retained generations included."""
        names = {self.items_file, self.vectors_file} | ({self.mapped_file} if self.mapped_file else set())
        for r in self.retained:
            names |= {r["items_file"], r["vectors_file"]} | ({r["mapped_file"]} if r.get("mapped_file") else set())
        return names

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_manifest(folder: Path, manifest: Manifest, *, temp_name: str | None = None) -> None:
    atomic_write_bytes(folder / MANIFEST_NAME, json.dumps(manifest.to_dict(), indent=2).encode(),
                       temp_name=temp_name)


def read_manifest(folder: Path) -> Manifest:
    path = folder / MANIFEST_NAME
    if folder.exists() and not folder.is_dir():
        raise FashrecIndexError(f"{folder} is a file, not an index folder",
                                hint="point --index at the folder `fashrec index` wrote")
    if path.is_dir():
        raise FashrecIndexError(f"{path} is a directory, where fashrec keeps the index manifest",
                                hint="move it out of the index folder, or rebuild the index in another folder")
    if not path.exists():
        raise FashrecIndexError(f"no fashrec index at {folder}",
                                hint="build one with: fashrec index CATALOG.jsonl")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FashrecIndexError(f"index manifest is corrupt: {path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    version = data.get("schema_version") if isinstance(data, dict) else None
    if not isinstance(version, int):
        raise FashrecIndexError(f"index manifest has no schema version: {path}",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    if version > SCHEMA_VERSION:
        raise FashrecIndexError(
            f"index at {folder} was written by a newer fashrec (schema {version}, this fashrec reads "
            f"up to {SCHEMA_VERSION})",
            hint="upgrade fashrec, or rebuild the index with this version: fashrec index CATALOG --rebuild",
        )
    try:
        manifest = Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})
    except TypeError as exc:
        raise FashrecIndexError(f"index manifest is incomplete: {path} ({exc})",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild") from exc
    invalid = _invalid_fields(manifest)
    if invalid:
        raise FashrecIndexError(f"index manifest is invalid (bad {', '.join(invalid)}): {path}",
                                hint="rebuild it with: fashrec index CATALOG.jsonl --rebuild")
    return manifest


def _invalid_fields(manifest: Manifest) -> list[str]:
    """Check types and file names, so a damaged or hand-edited manifest is refused here rather than
    crashing a reader later, or sending a writer to delete files outside the index folder."""

    def count(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    def plain_name(value: object) -> bool:
        return isinstance(value, str) and value not in ("", ".", "..") and Path(value).name == value

    enc = manifest.encoder
    checks = {
        "encoder": isinstance(enc, dict) and isinstance(enc.get("spec"), str)
        and isinstance(enc.get("identifier"), str) and count(enc.get("dimension")) and enc["dimension"] > 0,
        "generation": count(manifest.generation),
        "count": count(manifest.count),
        "items_file": plain_name(manifest.items_file),
        "vectors_file": plain_name(manifest.vectors_file),
        "hnsw": isinstance(manifest.hnsw, dict),
        "retained": isinstance(manifest.retained, list) and all(
            isinstance(r, dict) and count(r.get("generation")) and plain_name(r.get("items_file"))
            and plain_name(r.get("vectors_file")) and (not r.get("mapped_file") or plain_name(r["mapped_file"]))
            for r in manifest.retained),
        "mapped_file": manifest.mapped_file == "" or plain_name(manifest.mapped_file),
        "store": isinstance(manifest.store, dict) and (not manifest.store or (
            manifest.store.get("kind") == "lance" and isinstance(manifest.store.get("uri"), str)
            and bool(manifest.store["uri"]) and isinstance(manifest.store.get("table"), str)
            and count(manifest.store.get("version")) and isinstance(manifest.store.get("ann"), dict))),
    }
    return [name for name, ok in checks.items() if not ok]
