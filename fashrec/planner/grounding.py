"""Planner layer: grounding the lexicon in one catalog: which words this catalog's vocabulary can satisfy, and how.

:class:`Grounder` turns the catalog-independent lexicon plus the vocabulary into one phrase index
(token tuple -> :class:`Term`). Every value a term carries exists in the vocabulary, under the
attribute that really holds it in this catalog, so nothing downstream can produce a value the catalog
does not have. Building the index is the expensive part, so grounders are cached per vocabulary.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from fashrec.catalog import Vocabulary, normalize_key, normalize_value
from fashrec.planner import lexicon
from fashrec.planner.tokens import (
    edit_distance,
    is_typo_of,
    phrase_tokens,
    singular_plural_variants,
)

AttrValue = tuple[str, str]

# Priorities when two sources claim the same surface: a catalog value spelled exactly wins over a
# lexicon synonym, which wins over a plural/singular variant of a catalog value.
_EXACT, _LEXICON, _VARIANT = 3, 2, 1


@dataclass(frozen=True)
class Term:
    """What a matched phrase means in this catalog.

    ``role`` is one of: value, relative, attr (an attribute's name, "any colour"), or a cue role
    (negate, release, same, different, instead_of, stock, conj, but).
    """

    surface: tuple[str, ...]
    role: str
    kind: str | None = None
    values: tuple[AttrValue, ...] = ()     # what the word asks for (grounded)
    implied: tuple[AttrValue, ...] = ()    # what it implies ("jeans" -> material=denim)
    family: tuple[AttrValue, ...] = ()     # every grounded candidate: lets the anchor's own value win
    exclude: bool = False                  # the word itself is a negation ("no prints")
    relative: tuple[str, ...] = ()
    attribute: str | None = None           # for role "attr": the catalog attribute, "price" or "stock"

    @property
    def grounded(self) -> bool:
        return bool(self.values or self.relative or self.attribute)


@dataclass
class Grounder:
    vocabulary: Vocabulary
    kind_attribute: dict[str, str] = field(default_factory=dict)
    index: dict[tuple[str, ...], Term] = field(default_factory=dict)
    tails: set[tuple[str, ...]] = field(default_factory=set)
    max_len: int = 1
    known_tokens: set[str] = field(default_factory=set)

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def build(cls, vocabulary: Vocabulary) -> "Grounder":
        g = cls(vocabulary)
        g.kind_attribute = resolve_kinds(vocabulary)
        priority: dict[tuple[str, ...], int] = {}

        def put(surface: tuple[str, ...], term: Term, prio: int) -> None:
            if not surface:
                return
            if priority.get(surface, 0) >= prio and surface in g.index:
                return
            g.index[surface] = term
            priority[surface] = prio

        # Cues and attribute names first: a value with the same spelling overrides them below.
        for surfaces, role in lexicon.cue_entries():
            if role == "release_tail":
                g.tails.update(phrase_tokens(s) for s in surfaces)
                continue
            for s in surfaces:
                put(phrase_tokens(s), Term(phrase_tokens(s), role), 1)
        for surfaces, kind in lexicon.attribute_word_entries():
            attribute = kind if kind in ("price", "stock") else g.kind_attribute.get(kind)
            for s in surfaces:
                put(phrase_tokens(s), Term(phrase_tokens(s), "attr", kind=kind, attribute=attribute), 1)
        for surfaces, wish, implied in lexicon.relative_entries():
            implied_values = g._ground_bundle("usage", (implied,)) if implied else None  # "more formal"
            for s in surfaces:
                tokens = phrase_tokens(s)
                put(tokens, Term(tokens, "relative", kind="usage", relative=(wish,),
                                 implied=tuple(implied_values or ())), _LEXICON)
        for entry in lexicon.value_entries():
            term_fields = g._ground_entry(entry)
            for s in entry.surfaces:
                tokens = phrase_tokens(s)
                put(tokens, Term(tokens, "value", kind=entry.kind, **term_fields), _LEXICON)
        # Every catalog value, spelled as in the catalog and in its other number form.
        for attribute in vocabulary.attributes():
            kind = g.kind_of(attribute)
            for value in vocabulary.values(attribute):
                tokens = phrase_tokens(value)
                if not tokens or (len(tokens) == 1 and tokens[0] in lexicon.AMBIGUOUS_VALUES):
                    continue
                term = Term(tokens, "value", kind=kind, values=((attribute, value),),
                            family=((attribute, value),))
                put(tokens, term, _EXACT)
                if kind in lexicon.KIND_TABLES and kind != "category":
                    continue  # only product types come in singular and plural ("a dress", "dresses")
                for variant in singular_plural_variants(tokens):
                    if len(variant) == 1 and variant[0] in lexicon.AMBIGUOUS_VALUES:
                        continue
                    put(variant, Term(variant, "value", kind=kind, values=term.values, family=term.family),
                        _VARIANT)
        g.max_len = max((len(s) for s in g.index), default=1)
        g.known_tokens = {t for s in g.index for t in s} | {t for s in g.tails for t in s}
        return g

    def kind_of(self, attribute: str) -> str:
        for kind, attr in self.kind_attribute.items():
            if attr == attribute:
                return kind
        return attribute

    def _ground_value(self, kind: str, value: str) -> AttrValue | None:
        """The attribute holding ``value`` here, preferring the attribute of ``kind``."""
        attr = self.kind_attribute.get(kind)
        if attr and self.vocabulary.has(attr, value):
            return attr, normalize_value(value)
        if normalize_value(value) in lexicon.AMBIGUOUS_VALUES:
            return None  # "short" only means sleeve=short where a sleeve attribute says so
        holders = self.vocabulary.attributes_with(value)
        if not holders:
            return None
        # A value of another kind's attribute ("formal" in usage while looking for a category) is
        # only taken when this kind has no attribute in the catalog at all.
        if attr is not None and holders[0] != attr and self.kind_of(holders[0]) in lexicon.KIND_TABLES:
            return None
        return holders[0], normalize_value(value)

    def _ground_anywhere(self, value: str) -> AttrValue | None:
        holders = self.vocabulary.attributes_with(value)
        return (holders[0], normalize_value(value)) if holders else None

    def _ground_bundle(self, kind: str, bundle: tuple[str, ...]) -> list[AttrValue] | None:
        grounded = []
        for i, value in enumerate(bundle):
            # The first value is of the entry's kind; the rest say what else the word implies.
            hit = self._ground_value(kind, value) if i == 0 else self._ground_anywhere(value)
            if hit is None:
                return None
            grounded.append(hit)
        return grounded

    def _ground_entry(self, entry: lexicon.LexiconEntry) -> dict:
        family: list[AttrValue] = []
        chosen: list[AttrValue] | None = None
        chosen_excluded = False
        for bundle, excluded in zip(entry.candidates, entry.excluded):
            grounded = self._ground_bundle(entry.kind, bundle)
            if grounded is None:
                continue
            if len(bundle) == 1 and not excluded:
                family.append(grounded[0])
            if chosen is None:
                chosen, chosen_excluded = grounded, excluded
        if chosen is None:
            relative = (entry.relative,) if entry.relative else ()
            return {"relative": relative}
        return {
            "values": (chosen[0],),
            "implied": tuple(chosen[1:]),
            "family": tuple(dict.fromkeys(family)),
            "exclude": chosen_excluded,
        }

    # -- matching ---------------------------------------------------------------------------------
    def match(self, tokens: list[str], start: int) -> Term | None:
        """The longest term starting at ``tokens[start]``."""
        for length in range(min(self.max_len, len(tokens) - start), 0, -1):
            term = self.index.get(tuple(tokens[start:start + length]))
            if term is not None:
                return term
        return None

    def match_tail(self, tokens: list[str], start: int) -> int:
        """Length of a release tail ("doesn't matter", "is flexible") at ``start``, or 0."""
        for length in range(min(5, len(tokens) - start), 0, -1):
            if tuple(tokens[start:start + length]) in self.tails:
                return length
        return 0

    def correct(self, token: str) -> str | None:
        """The known word ``token`` is most likely a typo of, or None."""
        if token in self.known_tokens or token in lexicon.COMMON_WORDS or not token.isalpha():
            return None
        best: tuple[int, int, str] | None = None
        for known in self.known_tokens:
            if len(known) < 4 or not known.isalpha() or known in lexicon.COMMON_WORDS \
                    or not is_typo_of(token, known):
                continue
            # Closest first; then whole single-word terms ("navy") over pieces of longer ones.
            key = (edit_distance(token, known), 0 if (known,) in self.index else 1, known)
            if best is None or key < best:
                best = key
        return best[2] if best else None


def resolve_kinds(vocabulary: Vocabulary) -> dict[str, str]:
    """Which catalog attribute plays each kind (color, category, ...), by name or else by values."""
    attributes = vocabulary.attributes()
    out: dict[str, str] = {}
    for kind, aliases in lexicon.KIND_ALIASES.items():
        for alias in aliases:
            if normalize_key(alias) in attributes:
                out[kind] = normalize_key(alias)
                break
    taken = set(out.values())
    for kind, protos in lexicon.KIND_PROTOTYPES.items():
        if kind in out:
            continue
        scores = [(sum(vocabulary.has(a, p) for p in protos), a) for a in attributes if a not in taken]
        scores = [s for s in scores if s[0] >= 2 or (s[0] >= 1 and len(protos) == 1)]
        if scores:
            out[kind] = max(scores)[1]
            taken.add(out[kind])
    return out


_CACHE: dict[int, tuple[Vocabulary, Grounder]] = {}
_CACHE_LOCK = threading.Lock()


def grounder_for(vocabulary: Vocabulary) -> Grounder:
    """The (cached) grounder of ``vocabulary``; rebuilt if the vocabulary object changed."""
    key = id(vocabulary)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is vocabulary and _fingerprint(hit[1]) == _fingerprint_of(vocabulary):
            return hit[1]
    grounder = Grounder.build(vocabulary)
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = (vocabulary, grounder)
    return grounder


def _fingerprint_of(vocabulary: Vocabulary) -> tuple[int, int]:
    return len(vocabulary.counts), sum(len(v) for v in vocabulary.counts.values())


def _fingerprint(grounder: Grounder) -> tuple[int, int]:
    return _fingerprint_of(grounder.vocabulary)
