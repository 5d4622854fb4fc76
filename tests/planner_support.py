"""Helpers shared by the planner tests: the labelled vocabularies and a scriptable fake LLM backend."""

from __future__ import annotations

from typing import Callable

from fashrec.catalog import Vocabulary
from fashrec.evaluation.planner import PLANNER_DATA, load_vocabularies
from fashrec.planner import Completion, PlanContext

DATA = PLANNER_DATA
VOCABULARIES = load_vocabularies(DATA / "planner_vocabulary.json")
EXAMPLE: Vocabulary = VOCABULARIES["example"]
PRODUCTS: Vocabulary = VOCABULARIES["products"]
SHOP: Vocabulary = VOCABULARIES["shop"]        # example + brands and sizes
PHOTOS: Vocabulary = VOCABULARIES["photos"]    # products, in a catalog without prices


def context(vocabulary: Vocabulary = EXAMPLE, **anchor: str) -> PlanContext:
    return PlanContext(vocabulary=vocabulary, anchor=dict(anchor))


class FakeBackend:
    """A completion backend that answers from a script and records every call.

    ``answer`` is a fixed string or a function of (prompt, grammar) -> str; ``finish`` lets a test
    simulate a time-out; ``error`` makes every call raise it.
    """

    def __init__(self, answer: str | Callable[[str, str], str] = "{}", *, finish: str = "stop",
                 error: Exception | None = None) -> None:
        self.answer = answer
        self.finish = finish
        self.error = error
        self.calls: list[dict] = []

    def complete(self, prompt: str, *, grammar: str, max_tokens: int, timeout_s: float) -> Completion:
        self.calls.append({"prompt": prompt, "grammar": grammar, "max_tokens": max_tokens, "timeout_s": timeout_s})
        if self.error is not None:
            raise self.error
        text = self.answer(prompt, grammar) if callable(self.answer) else self.answer
        return Completion(text, self.finish, 0.0)
