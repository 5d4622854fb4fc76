"""Planner layer: grounding the lexicon in one catalog: which words this catalog's vocabulary can satisfy, and how.

:class:`Grounder` turns the catalog-independent lexicon plus the vocabulary into one phrase index
(token tuple -> :class:`Term`). Every value a term carries exists in the vocabulary, under the
attribute that really holds it in this catalog, so nothing downstream can produce a value the catalog
does not have. Building the index is the expensive part, so grounders are cached per vocabulary.
"""

from __future__ import annotations

import difflib
import threading
from collections import Counter
from dataclasses import dataclass, field

from fashrec.catalog import Vocabulary, normalize_key, normalize_value
from fashrec.planner import lexicon
from fashrec.planner.plan import BRAND, SIZE
from fashrec.planner.tokens import (
    edit_distance,
    is_typo_of,
    phrase_tokens,
    singular_plural_variants,
)

AttrValue = tuple[str, str]

# Priorities when two sources claim the same surface: a catalog value spelled exactly wins over a
# lexicon synonym, which wins over a plural/singular variant of a catalog value; a brand's first word
# ("nordvik" for "Nordvik Outdoor") never displaces anything.
_EXACT, _LEXICON, _VARIANT, _ALIAS = 3, 2, 1, 0.5


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
    field: str | None = None               # "brand"/"size": the value is a product field, not an attribute

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
    fingerprint: tuple[int, ...] = ()
    _words: dict[str, set[str]] = field(default_factory=dict, repr=False)  # first letter -> known words

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
            if attribute is None and kind in (BRAND, SIZE) and g._facet(kind):
                attribute = kind  # "any brand", "forget the size": the products' own field
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
        g._put_product_fields(put)
        g.max_len = max((len(s) for s in g.index), default=1)
        g.known_tokens = {t for s in g.index for t in s} | {t for s in g.tails for t in s}
        g.fingerprint = _fingerprint_of(vocabulary)
        return g

    def _facet(self, name: str) -> dict[str, int]:
        """The brands or sizes the products list, unless the catalog keeps them as an attribute."""
        if name in self.kind_attribute:
            return {}
        return self.vocabulary.brands if name == BRAND else self.vocabulary.sizes

    def _put_product_fields(self, put) -> None:
        """Brand names as the catalog spells them (a unique, distinctive first word too: "nordvik" for
        "Nordvik Outdoor"), and sizes that cannot be plain English ("XL", "one size"); sizes such as
        "M" or "42" are only read after the word "size" (see the rules planner)."""
        taken = {t for s in self.index for t in s}
        brands = {b: phrase_tokens(b) for b in self._facet(BRAND)}
        firsts = Counter(tokens[0] for tokens in brands.values() if tokens)
        for brand, tokens in brands.items():
            if not tokens:
                continue
            def term(surface: tuple[str, ...], brand: str = brand) -> Term:
                return Term(surface, "value", kind=BRAND, values=((BRAND, brand),), field=BRAND)
            if all(t in lexicon.COMMON_WORDS for t in tokens):  # "Next", "Only": a brand after from/by only
                for cue in ("from", "by"):
                    put((cue, *tokens), term((cue, *tokens)), _EXACT)
                continue
            put(tokens, term(tokens), _VARIANT)
            first = tokens[0]
            if len(tokens) > 1 and firsts[first] == 1 and len(first) >= 4 and first.isalpha() \
                    and first not in taken and first not in lexicon.COMMON_WORDS:
                put((first,), term((first,)), _ALIAS)
        for size in self._facet(SIZE):
            tokens = phrase_tokens(size)
            if len(tokens) > 1 or (tokens and lexicon.UNAMBIGUOUS_SIZE.fullmatch(tokens[0])):
                put(tokens, Term(tokens, "value", kind=SIZE, values=((SIZE, size),), field=SIZE), _VARIANT)

    def size_at(self, tokens: list[str], start: int) -> tuple[str, int] | None:
        """(size, tokens used) at ``start``: a size the catalog lists, or one that looks like a size
        ("47", "xxxl"; the plan's validation then says the catalog lacks it)."""
        sizes = self._facet(SIZE)
        for length in (3, 2, 1):
            words = tokens[start:start + length]
            if len(words) < length:
                continue
            spoken = " ".join(words)
            for value in (spoken, lexicon.SIZE_WORDS.get(spoken)):
                if value and value in sizes:
                    return value, length
        word = tokens[start] if start < len(tokens) else ""
        if lexicon.SIZE_LIKE.fullmatch(word):
            return word, 1
        mapped = lexicon.SIZE_WORDS.get(word)
        return (mapped, 1) if mapped else None

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

    def nearest(self, word: str) -> str | None:
        """The known word or value closest to ``word`` (for a "did you mean" note), if any is close."""
        if not word:
            return None
        if not self._words:
            for s, t in self.index.items():
                if t.role in ("value", "attr", "relative") and t.grounded:
                    self._words.setdefault(s[0][:1], set()).add(" ".join(s))
        # Shoppers rarely miss the first letter; comparing only those words keeps a note sub-millisecond.
        pool = [w for w in self._words.get(word[0], ()) if abs(len(w) - len(word)) <= 3]
        close = difflib.get_close_matches(word, sorted(pool), n=1, cutoff=0.75)
        return close[0] if close else None

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
        if hit is not None and hit[0] is vocabulary and hit[1].fingerprint == _fingerprint_of(vocabulary):
            return hit[1]
    grounder = Grounder.build(vocabulary)
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = (vocabulary, grounder)
    return grounder


def _fingerprint_of(vocabulary: Vocabulary) -> tuple[int, ...]:
    """Sizes of what the grounder was built from: a vocabulary edited in place gets a new grounder."""
    return (len(vocabulary.counts), sum(len(v) for v in vocabulary.counts.values()), len(vocabulary.brands),
            len(vocabulary.sizes), vocabulary.priced or 0)
