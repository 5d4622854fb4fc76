"""Server layer: what one ``fashrec serve`` process holds: loaded once, shared by every request thread.

The index, the encoder and the planners load at start-up (so the first shopper does not wait and
``/healthz`` means ready); the outfit tables on the first "complete the look".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from fashrec.ammr import Refiner
from fashrec.catalog.images import MAX_FILE_BYTES
from fashrec.errors import UsageError
from fashrec.index import Index
from fashrec.outfit import OutfitComposer
from fashrec.planner import create_planner
from fashrec.search import Searcher
from fashrec.service.runtime import build_refiner

DEFAULT_UPLOAD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """How the server answers: which index and planner, and what it lets in."""

    index: Path | None = None
    planner: str = "hybrid"
    llm: Path | None = None
    # Folders whose images a JSON body may name by path ({"image": PATH}); none by default, so a request
    # can only send its own bytes (an upload) or name a catalog product.
    allowed_image_dirs: tuple[Path, ...] = ()
    max_upload_bytes: int = DEFAULT_UPLOAD_BYTES
    # What a /refine body leaving out "ask_below" gets (like refine --ask-below; None: ask only about
    # what is read too unsurely to keep).
    ask_below: float | None = None
    # Uploads kept for sessions to come back to; the oldest go first.
    max_uploads_kept: int = 512
    thumbnail_cache_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if not 1024 <= self.max_upload_bytes <= MAX_FILE_BYTES:
            raise UsageError(f"the upload limit must be between 1 KiB and {MAX_FILE_BYTES // 2**20} MiB")
        object.__setattr__(self, "allowed_image_dirs",
                           tuple(Path(d).expanduser().resolve() for d in self.allowed_image_dirs))
        for folder in self.allowed_image_dirs:
            if not folder.is_dir():
                raise UsageError(f"--allow-images: not a folder: {folder}")


@dataclass
class Loaded:
    """The loaded models and index; ``composer`` is built on first use (a lock keeps it to once)."""

    config: ServerConfig
    refiner: Refiner
    searcher: Searcher
    _composer: OutfitComposer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, config: ServerConfig) -> "Loaded":
        refiner = build_refiner(config.index, config.planner, config.llm)
        # A server answers many searches: a large graph is worth moving onto huge pages at once (up to
        # 1.4x faster searches at 1M items, index.huge_pages), on a thread so start-up does not wait.
        refiner.index.collapse_onto_huge_pages(background=True)
        # search understands its words with the instant rules planner, as `fashrec search` does
        searcher = Searcher(refiner.index, refiner.encoder, create_planner("rules"))
        return cls(config, refiner, searcher)

    @property
    def index(self) -> Index:
        return self.refiner.index

    @property
    def composer(self) -> OutfitComposer:
        with self._lock:
            if self._composer is None:
                self._composer = OutfitComposer(self.index, self.refiner.encoder)
            return self._composer
