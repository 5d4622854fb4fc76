"""Service layer: what the commands and the server load -- the index, the encoder, the planners, the profile.

The command line loads them once per command; ``fashrec serve`` once per process. Remarks made while
loading (which encoder runtime, a stale export) go to :func:`notify`: plain stderr here, the command
line's styled stderr once it calls :func:`set_notifier`.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Callable, Optional

from fashrec.ammr import (
    Anchor,
    Refiner,
    anchor_from_product,
    available_strategies,
    understand_anchor,
)
from fashrec.catalog import Vocabulary, load_catalog
from fashrec.encoder import Encoder, identify
from fashrec.encoder.prompts import AttributePrompts
from fashrec.encoder.runtime import load_query_encoder
from fashrec.errors import FashrecIndexError, UsageError
from fashrec.evaluation import baselines  # noqa: F401  (registers the single-shot strategies)
from fashrec.index import Index, default_index_dir, open_index
from fashrec.planner import Planner, create_planner
from fashrec.profile import load_profile_unless  # noqa: F401  (the commands' name for it)
from fashrec.search import Searcher
from fashrec.service import requests

Notifier = Callable[[str, bool], None]   # (message, is_warning)


def _to_stderr(message: str, warning: bool = False) -> None:
    sys.stderr.write(("warning: " if warning else "") + message + "\n")


_notifier: list[Notifier] = [_to_stderr]


def set_notifier(notifier: Notifier) -> None:
    """Where remarks made while loading go (the command line styles them)."""
    _notifier[0] = notifier


def notify(message: str, *, warning: bool = False) -> None:
    _notifier[0](message, warning)


def open_index_for(index: Optional[Path]) -> Index:
    return open_index(index)


def query_encoder(index: Index, runtime: Optional[str] = None) -> Encoder:
    """The index's encoder, set up for one request at a time: the verified ONNX export of the very
    encoder the index's vectors came from when there is one, else torch (``--runtime``)."""
    loaded = load_query_encoder(index.encoder_spec, runtime=runtime, identifier=index.encoder_identifier,
                                notify=notify)
    if loaded.note:
        notify(loaded.note)
    if loaded.runtime == "torch":
        current = identify(index.encoder_spec)
        if current != index.encoder_identifier:
            notify(f"the encoder's files changed since this index was built (index: {index.encoder_identifier}, "
                   f"now: {current}): queries and catalog vectors come from different weights. Rebuild the "
                   "index: fashrec index CATALOG --rebuild", warning=True)
    return loaded.encoder


def planner_named(name: str, llm: Optional[Path] = None) -> Planner:
    return create_planner(name, **({"model_path": str(llm)} if llm and name != "rules" else {}))


def build_refiner(index: Optional[Path], planner: str, llm: Optional[Path], runtime: Optional[str] = None) -> Refiner:
    """Load index, encoder and planner once (shared by refine, sessions and chat)."""
    idx = open_index_for(index)
    # A missing or broken LLM never stops a refinement: the planners fall back to rules and say so in
    # the plan's notes, which every output shows.
    chosen = planner_named(planner, llm)
    fallback = create_planner("rules") if planner != "rules" else None
    return Refiner(idx, query_encoder(idx, runtime), chosen, fallback_planner=fallback)


def build_searcher(index: Optional[Path], planner: str = "none", runtime: Optional[str] = None) -> Searcher:
    idx = open_index_for(index)
    return Searcher(idx, query_encoder(idx, runtime), None if planner == "none" else create_planner(planner))


def check_strategy(strategy: str, *, field: str | None = None) -> str:
    """--strategy (or a request's ``field``) against every registered strategy (a plugin's too), in the words
    --server checks it with."""
    return requests.check_strategy(strategy, available_strategies(), field=field)


def anchor_for(index: Index, encoder: Encoder, image: Optional[Path], product_id: Optional[str]) -> Anchor:
    """The anchor: a catalog product by id, or an image whose attributes are inferred."""
    if product_id:
        if image is not None:
            raise UsageError("give an anchor IMAGE or --id, not both")
        return anchor_from_product(index, product_id)
    if image is None:
        raise UsageError("give an anchor image (or --id PRODUCT): fashrec outfit shirt.jpg")
    vector = encoder.encode_images([image])[0]
    return understand_anchor(index, vector, AttributePrompts(index, encoder), image=image)


def load_vocabulary(index: Optional[Path], catalog: Optional[Path], *,
                    warn: Callable[[str], None] = lambda message: None) -> tuple[Vocabulary, str | None]:
    """The vocabulary (and currency) of a catalog file, an index folder, or the default index."""
    if catalog is not None:
        loaded = load_catalog(catalog, check_images=False)
        if loaded.problems:
            warn(f"{len(loaded.problems)} catalog line(s) skipped (first: {loaded.problems[0].message})")
        if not loaded.products:
            raise UsageError(f"no valid products in {catalog}")
        currencies = Counter(p.currency for p in loaded.products if p.currency)
        return loaded.vocabulary, (currencies.most_common(1)[0][0] if currencies else None)
    path = index if index is not None else default_index_dir()
    if not Path(path).expanduser().exists():
        raise FashrecIndexError(f"no index at {path}", hint="build one with: fashrec index CATALOG.jsonl, "
                                "or use --catalog FILE")
    opened = open_index(path)
    return opened.vocabulary, opened.currency
