"""Planner layer: the plan stage: request text (+ anchor attributes, + earlier turns) -> a validated :class:`Plan`.

Three planners share one interface (:class:`Planner`) and one registry:

- ``rules``: the fashion lexicon grounded in the catalog's vocabulary; deterministic and instant;
- ``llm``: a local GGUF model held to catalog values by a grammar, with rules as the safety net;
- ``hybrid`` (default): rules, plus the LLM for the words the rules could not explain.

Other planners (or fakes in tests) join through :func:`register_planner`, exactly like the built-ins.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from fashrec.catalog import Vocabulary
from fashrec.errors import UsageError
from fashrec.planner.backend import (
    Completion,
    CompletionBackend,
    LlamaCppBackend,
    default_model_path,
)
from fashrec.planner.context import PlanContext, Planner
from fashrec.planner.hybrid import HybridPlanner
from fashrec.planner.llm import LLMPlanner
from fashrec.planner.plan import RELATIVE_WISHES, Plan, price_label
from fashrec.planner.rules import RulesPlanner, wanted_text

PlannerFactory = Callable[..., Planner]
DEFAULT_PLANNER = "hybrid"

_REGISTRY: dict[str, PlannerFactory] = {}
_LOCK = threading.Lock()


def register_planner(name: str, factory: PlannerFactory, *, replace: bool = False) -> None:
    """Make ``create_planner(name, **options)`` call ``factory(**options)``."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"invalid planner name: {name!r}")
    with _LOCK:
        if name in _REGISTRY and not replace:
            raise ValueError(f"a planner named '{name}' is already registered")
        _REGISTRY[name] = factory


def unregister_planner(name: str) -> None:
    with _LOCK:
        _REGISTRY.pop(name, None)


def available_planners() -> list[str]:
    with _LOCK:
        return sorted(_REGISTRY)


def create_planner(name: str = DEFAULT_PLANNER, **options: Any) -> Planner:
    """A planner by name; options go to its factory (e.g. ``model_path=``, ``completion=``)."""
    with _LOCK:
        factory = _REGISTRY.get(name)
    if factory is None:
        raise UsageError(f"unknown planner '{name}'", hint=f"choose one of: {', '.join(available_planners())}")
    return factory(**options)


def plan_request(text: str, vocabulary: Vocabulary, *, anchor: dict[str, str] | None = None,
                 previous: Plan | None = None, currency: str | None = None,
                 planner: str | Planner = DEFAULT_PLANNER, **options: Any) -> Plan:
    """One-call API: ``plan_request("same in navy, under 40", catalog.vocabulary, anchor={...})``."""
    chosen = create_planner(planner, **options) if isinstance(planner, str) else planner
    context = PlanContext(vocabulary=vocabulary, anchor=anchor or {}, previous=previous, currency=currency)
    return chosen.plan(text, context)


def _rules_factory() -> Planner:
    return RulesPlanner()


def _llm_factory(completion: CompletionBackend | None = None, model_path: str | None = None, **options: Any) -> Planner:
    return LLMPlanner(completion, model_path=model_path, **options)


def _hybrid_factory(completion: CompletionBackend | None = None, model_path: str | None = None, **options: Any) -> Planner:
    return HybridPlanner(completion, model_path=model_path, **options)


register_planner("rules", _rules_factory)
register_planner("llm", _llm_factory)
register_planner("hybrid", _hybrid_factory)

__all__ = [
    "Completion", "CompletionBackend", "DEFAULT_PLANNER", "HybridPlanner", "LLMPlanner", "LlamaCppBackend",
    "Plan", "PlanContext", "Planner", "RELATIVE_WISHES", "RulesPlanner", "available_planners", "price_label",
    "create_planner", "default_model_path", "plan_request", "register_planner", "unregister_planner",
    "wanted_text",
]
