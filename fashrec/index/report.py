"""Index layer: what one `fashrec index` run did (added, updated, removed, skipped lines and why)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fashrec.errors import CatalogError


@dataclass
class IndexReport:
    index: str
    catalog: str
    encoder: str
    added: int = 0
    updated: int = 0
    metadata_updated: int = 0
    removed: int = 0
    unchanged: int = 0
    kept_previous: int = 0
    repaired: int = 0          # damaged rows of the item store found (and replaced or removed)
    total: int = 0
    seconds: float = 0.0
    skipped: list[CatalogError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    onnx: dict | None = None  # the encoder's export for torch-free queries (ExportReport.to_dict), if tried
    engine: dict | None = None  # how encoding ran (local or ray; workers, seconds), when anything was encoded

    def to_dict(self) -> dict:
        return {
            "index": self.index, "catalog": self.catalog, "encoder": self.encoder,
            "added": self.added, "updated": self.updated, "metadata_updated": self.metadata_updated,
            "removed": self.removed, "unchanged": self.unchanged, "kept_previous": self.kept_previous,
            "repaired": self.repaired,
            "total": self.total, "seconds": round(self.seconds, 3),
            "skipped": [e.to_dict() for e in self.skipped], "notes": self.notes, "onnx": self.onnx,
            "engine": self.engine,
        }
