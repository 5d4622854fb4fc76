"""Planner layer: the default planner: rules first, the LLM only for the words the rules could not explain.

The rules planner is precise on everything its lexicon knows, so its plan is kept as is. What it
leaves over ("in blu", "crimson heels") is put to the model as a multiple-choice question with a
grammar over a few catalog values plus "none". An answer is used only if it passes a check the model
cannot talk its way through:

- spelled like the word ("blu" -> blue): the model picked among near-spellings, in context;
- otherwise (a synonym the lexicon lacks) only with ``synonyms=True``: the question is asked twice
  with the options in opposite orders and both answers must agree. This is off by default because the
  embedded 135M model answers such questions at chance level (measured: 12 words, both orders, two
  prompt styles, and log-probability scoring with and without calibration); a stronger GGUF passed
  with ``--llm`` can make it worth turning on.

No model, a broken model or a slow one never costs the shopper the rules' plan: the failure is noted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fashrec.errors import ModelError, PlannerError
from fashrec.planner.backend import CompletionBackend, LlamaCppBackend
from fashrec.planner.context import PlanContext
from fashrec.planner.grammar import choice_gbnf
from fashrec.planner.grounding import grounder_for
from fashrec.planner.llm import FALLBACK_PREFIX, chatml, similar_values
from fashrec.planner.plan import Plan
from fashrec.planner.rules import UNREAD_PREFIX, Analysis, Leftover, RulesPlanner
from fashrec.planner.tokens import is_typo_of, sanitize

# Words before a leftover that say "a value goes here" ("in scarlet", "a crimson one").
_SLOT_CUES = frozenset({"in", "a", "an", "some", "more", "very", "bright", "deep", "dark", "light", "pale"})
# Attribute kinds a free adjective usually fills; categories are left to the lexicon.
_DESCRIPTIVE_KINDS = ("color", "pattern", "material")
NONE_OPTION = "none"

QUESTION_SYSTEM = (
    "You match one word from a shopper's request to a catalog value. Answer with one option exactly. "
    "Answer none if the word does not name one of the options."
)


@dataclass
class Question:
    leftover: Leftover
    options: list[tuple[str, str]]  # (attribute, value)
    similar: set[tuple[str, str]]   # options spelled like the word


class HybridPlanner:
    name = "hybrid"

    def __init__(self, completion: CompletionBackend | None = None, *, model_path: str | Path | None = None,
                 max_questions: int = 2, timeout_s: float = 6.0, synonyms: bool = False,
                 rules: RulesPlanner | None = None) -> None:
        self._completion = completion
        self._model_path = model_path
        self._model_error: ModelError | None = None
        self.max_questions = max_questions
        self.timeout_s = timeout_s
        self.synonyms = synonyms
        self.rules = rules or RulesPlanner()

    def _backend(self) -> CompletionBackend:
        if self._completion is None:
            if self._model_error is not None:
                raise self._model_error
            try:
                self._completion = LlamaCppBackend(self._model_path)
            except ModelError as exc:
                self._model_error = exc  # do not retry the file system on every request
                raise
        return self._completion

    def plan(self, text: str, context: PlanContext) -> Plan:
        analysis = self.rules.analyze(text, context)
        plan = Plan.from_dict(analysis.plan.to_dict())
        plan.source = self.name
        questions = self.questions(analysis, context)
        if not questions:
            return plan
        try:
            backend = self._backend()
        except ModelError as exc:
            plan.notes.append(f"{FALLBACK_PREFIX} no LLM for unexplained words ({exc.message}); used the rules planner")
            return plan
        clean = sanitize(text)  # the model never sees template markers or an injected turn
        for question in questions:
            try:
                answer = self.ask(backend, question, clean)
            except PlannerError as exc:
                plan.notes.append(f"{FALLBACK_PREFIX} the LLM failed on '{question.leftover.word}' ({exc.message})")
                continue
            if answer is not None:
                _apply(plan, question.leftover, answer)
        return plan.validated(context.vocabulary)

    # -- which words to ask about --------------------------------------------------------------------
    def questions(self, analysis: Analysis, context: PlanContext) -> list[Question]:
        grounder_attrs = _descriptive_attributes(context)
        out = []
        for leftover in analysis.leftovers:
            similar = [(a, v) for a, v in similar_values(leftover.word, context, limit=3) if _spelled_like(leftover.word, v)]
            in_slot = self.synonyms and (leftover.cue in _SLOT_CUES or _before_a_product(analysis, leftover))
            if not similar and not in_slot:
                continue
            options = list(similar)
            if in_slot:
                for attribute in grounder_attrs:
                    options.extend((attribute, v) for v in context.vocabulary.values(attribute))
            options = list(dict.fromkeys(options))
            if options:
                out.append(Question(leftover, options, set(similar)))
            if len(out) >= self.max_questions:
                break
        return out

    # -- asking ---------------------------------------------------------------------------------------
    def ask(self, backend: CompletionBackend, question: Question, text: str) -> tuple[str, str] | None:
        """The verified (attribute, value) the word means, or None."""
        first = self._choose(backend, question, text, question.options)
        if first is None:
            return None
        if first in question.similar:
            return first
        if not self.synonyms:
            return None
        second = self._choose(backend, question, text, list(reversed(question.options)))
        return first if second == first else None

    def _choose(self, backend: CompletionBackend, question: Question, text: str,
                options: list[tuple[str, str]]) -> tuple[str, str] | None:
        labels = _labels(options)
        word = question.leftover.word
        # "none" goes last: small models favour the first options they are shown.
        listed = [*labels, NONE_OPTION]
        prompt = chatml([
            ("system", QUESTION_SYSTEM),
            ("user", f"Request: {text!r}\nWord: {word!r}\nOptions: {', '.join(listed)}\n"
                     f"Which option does {word!r} mean?"),
        ])
        completion = backend.complete(prompt, grammar=choice_gbnf(listed),
                                      max_tokens=12, timeout_s=self.timeout_s)
        if completion.finish_reason == "timeout":
            raise PlannerError(f"no answer within {self.timeout_s:g}s")
        answer = completion.text.strip()
        return dict(zip(labels, options)).get(answer)


def _labels(options: list[tuple[str, str]]) -> list[str]:
    """Option labels: the value, or attribute=value where two attributes share a value."""
    counts: dict[str, int] = {}
    for _, value in options:
        counts[value] = counts.get(value, 0) + 1
    return [v if counts[v] == 1 else f"{a}={v}" for a, v in options]


def _spelled_like(word: str, value: str) -> bool:
    """A near-spelling: "blu" for blue, "grren" for green (never a different first letter: beach/peach)."""
    if len(word) >= 3 and value.startswith(word) and len(value) - len(word) <= 2:
        return True
    return is_typo_of(word, value)


def _before_a_product(analysis: Analysis, leftover: Leftover) -> bool:
    """'crimson heels': an unknown word right before a recognised product type."""
    nxt = leftover.position + 1
    if nxt >= len(analysis.tokens):
        return False
    following = analysis.tokens[nxt]
    return any(term.kind == "category" and term.surface and term.surface[0] == following and term.values
               for term in analysis.terms)


def _descriptive_attributes(context: PlanContext) -> list[str]:

    kinds = grounder_for(context.vocabulary).kind_attribute
    return [kinds[k] for k in _DESCRIPTIVE_KINDS if k in kinds]


def _apply(plan: Plan, leftover: Leftover, answer: tuple[str, str]) -> None:
    attribute, value = answer
    if leftover.negated:
        values = plan.exclude.setdefault(attribute, [])
        if value not in values:
            values.append(value)
    elif attribute in plan.set:
        plan.notes.append(f"llm read '{leftover.word}' as {attribute}={value} but {attribute} is already "
                          f"{plan.set[attribute]}: ignored")
        return
    else:
        plan.set[attribute] = value
    words = [w for w in plan.query.split() if w != leftover.word]
    plan.query = " ".join(words)
    unread = f"{UNREAD_PREFIX} '{leftover.word}'"
    plan.notes = [n for n in plan.notes if not n.startswith(unread)]  # the word did something after all
    plan.notes.append(f"llm read '{leftover.word}' as {attribute}={value}")

