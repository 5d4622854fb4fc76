"""Planner layer: the deterministic planner: lexicon + vocabulary grounding + a small reading of negation and scope.

The request is read left to right as a sequence of matched phrases (the longest phrase the grounded
lexicon knows at each position) and leftover words. A few cues change how the next phrases count:

- negation ("not", "anything but", "without") turns the values that follow into exclusions, through
  lists ("not red, pink or orange") but not past a new clause ("not black, navy please");
- releases ("forget the budget", "any colour", "colour doesn't matter") drop an attribute;
- "different/another colour" excludes the colour being moved away from (last turn's, else the anchor's);
- "same colour" keeps it; "instead of beige" names the value being replaced, not a wish;
- a clause that refuses one value and one that asks for another read as both ("not the blue one, rather
  a green one": not blue, green), and so do "not that blue shirt, a green one" and "not blue, green
  instead" ("instead" after a value makes it the wish);
- brands (the products' ``brand`` field) read like values ("from Nordvik", "not Kestrel"); sizes only
  next to the word "size" ("size M", "a large size", "sizes 38 or 39") or when no English word is spelled
  like them ("in XL").

Negated words never become search text: "not striped" in a catalog without patterns is noted, not
embedded (an embedding of "striped" would pull towards stripes).

Words nothing explains become :attr:`Analysis.leftovers`: the hybrid planner may ask the LLM about
them, and they end up in ``Plan.query`` for the text embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fashrec.catalog import Vocabulary
from fashrec.planner import lexicon
from fashrec.planner.context import PlanContext
from fashrec.planner.grounding import Grounder, Term, grounder_for
from fashrec.planner.plan import BRAND, SIZE, Plan
from fashrec.planner.prices import find_prices
from fashrec.planner.tokens import CLAUSE_BREAK, COMMA, sanitize, tokenize

# Words that may sit inside a negated list without ending it ("not in any black or grey").
_SCOPE_FILLERS = frozenset(
    "in a an the this that these those any anything something ones one items item stuff either too "
    "also even at all really very of coloured colored shade shades colour color colours colors".split()
)
# ... and, before the first negated value, words that only introduce it ("not for men", "nothing made
# of leather", "no shirts with stripes").
_NEGATION_LEADS = _SCOPE_FILLERS | frozenset("for made from with wearing having like to it them".split())
# Notes about words that changed nothing start with this, so a planner that explains them can drop it.
UNREAD_PREFIX = "nothing in this catalog matches"
# Words right before "size" that only introduce the sizes after it ("size is M", "in size 38").
_SIZE_LEADS = frozenset({"is", "of", "in", "."})


@dataclass
class Leftover:
    """A word no lexicon phrase explained, with what the words around it suggest."""

    word: str
    position: int
    negated: bool
    cue: str | None  # the word before it ("in", "as", "of", "for"), a hint of the slot it fills


@dataclass
class Analysis:
    """The rules planner's reading of a request: the plan plus what it could not explain."""

    plan: Plan
    tokens: list[str]
    leftovers: list[Leftover] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    # The request's words without what it refuses ("watches for men, not black" -> "watches for men"),
    # or None when it refuses nothing: what a text embedding should see.
    wanted_text: str | None = None


@dataclass
class _Item:
    start: int
    end: int
    term: Term | None
    token: str | None = None


@dataclass
class _Reading:
    """Mutable state while reading one request."""

    context: PlanContext
    explicit: dict[str, str] = field(default_factory=dict)
    implied: dict[str, str] = field(default_factory=dict)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    relative: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)
    stock: bool = False
    refusals: int = 0  # values, brands and words read as refused so far
    brands: list[str] = field(default_factory=list)
    exclude_brands: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    # Pending cues.
    negated: bool = False
    negated_kind: str | None = None  # kind of the last value excluded ("no checked shirts": shirts is a noun)
    release: bool = False
    release_any: bool = False    # the release came from "any"/"whatever": it only takes attribute names
    release_chain: bool = False  # "forget the colour and the budget": a list of released attributes
    same: bool = False
    different: bool = False
    refusing: bool = False  # the "different" cue refuses what follows ("not that blue shirt")
    instead: bool = False
    skip_to: int = 0  # token position up to which items were already read (a release tail)

    def reset(self, *, negation: bool = True) -> None:
        if negation:
            self.negated = False
            self.negated_kind = None
        self.release = self.release_any = self.same = self.different = self.refusing = self.instead = False
        self.release_chain = False

    def start_release(self, *, any_word: bool = False) -> None:
        self.release, self.release_any = True, any_word

    def add_set(self, attribute: str, value: str, *, implied: bool = False) -> None:
        target = self.implied if implied else self.explicit
        current = target.get(attribute)
        if current is None:
            target[attribute] = value
        elif current != value and not implied:
            self.notes.append(f"only one {attribute} can be required: kept {current}, not {value}")

    def add_exclude(self, attribute: str, value: str) -> None:
        self.refusals += 1
        values = self.exclude.setdefault(attribute, [])
        if value not in values:
            values.append(value)

    def add_drop(self, attribute: str) -> None:
        if attribute not in self.drop:
            self.drop.append(attribute)

    def add_field(self, name: str, value: str, *, refuse: bool = False) -> None:
        """A wanted or refused brand or size (several of each may be named: any of them will do)."""
        if name == SIZE and refuse:
            self.notes.append(f"sizes cannot be excluded: ignored 'not {value}' (name the sizes you want)")
            return
        self.refusals += refuse
        target = self.sizes if name == SIZE else (self.exclude_brands if refuse else self.brands)
        if value not in target:
            target.append(value)


class RulesPlanner:
    """Deterministic, fast (sub-millisecond per request) and explainable; knows only its lexicon."""

    name = "rules"

    def plan(self, text: str, context: PlanContext) -> Plan:
        return self.analyze(text, context).plan

    def analyze(self, text: str, context: PlanContext) -> Analysis:
        grounder = grounder_for(context.vocabulary)
        clean = sanitize(text)
        prices, rest = find_prices(clean, context.currency)
        tokens = tokenize(rest)
        reading = _Reading(context)
        reading.notes.extend(prices.notes)
        tokens = _correct_typos(tokens, grounder, reading.notes)
        tokens = _read_sizes(tokens, grounder, reading)
        items = _segment(tokens, grounder)
        refused: set[int] = set()
        for index, item in enumerate(items):
            if item.start >= reading.skip_to:
                before, scoped = reading.refusals, reading.negated
                _read_item(items, index, grounder, reading)
                if reading.refusals > before or _refusing_word(item, scoped and reading.negated):
                    refused.add(index)
        _note_unread(reading, grounder)
        plan = _finish(reading, prices.price_min, prices.price_max)
        plan = plan.validated(context.vocabulary)
        wanted = " ".join(_surface(i) for n, i in enumerate(items) if n not in refused and i.token != CLAUSE_BREAK)
        return Analysis(plan=plan, tokens=tokens, leftovers=reading.leftovers,
                        terms=[i.term for i in items if i.term is not None],
                        wanted_text=wanted.replace(" ,", ",").strip(" ,") if refused else None)


def _refusing_word(item: _Item, in_scope: bool) -> bool:
    """A negation cue, or a filler or "or" inside a refused list ("nothing in red or pink")."""
    if item.term is not None and item.term.role == "negate":
        return True
    return in_scope and (item.term is None or item.term.role == "conj") and item.token != COMMA


def wanted_text(text: str, vocabulary: Vocabulary) -> str:
    """``text`` without the words it refuses, for a text embedding: embedding "not striped" would pull
    towards stripes. A request that refuses nothing comes back unchanged."""
    analysis = RulesPlanner().analyze(text, PlanContext(vocabulary=vocabulary))
    return analysis.wanted_text if analysis.wanted_text is not None else text


def _correct_typos(tokens: list[str], grounder: Grounder, notes: list[str]) -> list[str]:
    out = []
    for token in tokens:
        fixed = grounder.correct(token)
        if fixed:
            notes.append(f"read '{token}' as '{fixed}'")
        out.append(fixed or token)
    return out


def _read_sizes(tokens: list[str], grounder: Grounder, r: _Reading) -> list[str]:
    """Sizes named next to the word "size" ("size M", "sizes 38 or 39", "a large size"), taken out of
    the tokens; other uses of the word ("any size", "size doesn't matter") are left to the reading."""
    if SIZE in grounder.kind_attribute:  # sizes are an attribute of this catalog: read like any value
        return tokens
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in ("size", "sizes"):
            out.append(tokens[i])
            i += 1
            continue
        before = _size_before(out, grounder)
        after, end = _sizes_after(tokens, i + 1, grounder)
        if not before and not after:
            out.append(tokens[i])
            i += 1
            continue
        if before:
            del out[-before[1]:]
        refused = bool(out) and out[-1] in ("not", "no", "without", "except")
        for value in ([before[0]] if before else []) + after:
            r.add_field(SIZE, value, refuse=refused)
        out.append(",")  # what came before the sizes and what follows are separate wishes
        i = end
    return out


def _size_before(out: list[str], grounder: Grounder) -> tuple[str, int] | None:
    """A size right before the word "size" ("M size", "extra large size"), and how many tokens it used."""
    for length in (3, 2, 1):
        if len(out) >= length:
            hit = grounder.size_at(out[-length:], 0)
            if hit is not None and hit[1] == length:
                return hit
    return None


def _sizes_after(tokens: list[str], start: int, grounder: Grounder) -> tuple[list[str], int]:
    """Sizes listed after the word "size" ("M", "S or M", "38, 39 and 40"), and where they end."""
    i = start
    while i < len(tokens) and tokens[i] in _SIZE_LEADS:
        i += 1
    sizes: list[str] = []
    while i < len(tokens):
        hit = grounder.size_at(tokens, i)
        if hit is None:
            break
        sizes.append(hit[0])
        i += hit[1]
        if i + 1 < len(tokens) and tokens[i] in ("or", "and", ",", "to") and grounder.size_at(tokens, i + 1):
            i += 1
            continue
        break
    return sizes, (i if sizes else start)


def _note_unread(r: _Reading, grounder: Grounder) -> None:
    """Say which words matched nothing, with the nearest word this catalog knows when one is close."""
    for leftover in r.leftovers:
        if leftover.negated:
            continue  # already noted where the negation was read
        near = grounder.nearest(leftover.word)
        r.notes.append(f"{UNREAD_PREFIX} '{leftover.word}': used only as search text"
                       + (f" (did you mean '{near}'?)" if near else ""))


def _segment(tokens: list[str], grounder: Grounder) -> list[_Item]:
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in (CLAUSE_BREAK, COMMA):
            items.append(_Item(i, i + 1, None, tokens[i]))
            i += 1
            continue
        term = grounder.match(tokens, i)
        if term is None:
            items.append(_Item(i, i + 1, None, tokens[i]))
            i += 1
        else:
            items.append(_Item(i, i + len(term.surface), term))
            i += len(term.surface)
    return items


def _read_item(items: list[_Item], index: int, grounder: Grounder, r: _Reading) -> None:
    item = items[index]
    if item.term is None:
        _read_word(items, index, r)
        return
    term = item.term
    role = term.role
    if role == "negate":
        r.reset()
        r.negated = True
    elif role == "but":
        r.reset()
    elif role == "conj":
        if r.release_chain:  # "forget the colour and the budget"
            r.start_release()
    elif role in ("release", "any"):
        if not r.negated:  # "not in any black": 'any' is only a filler inside a negation
            r.start_release(any_word=role == "any")
    elif role == "same":
        r.same = True
    elif role == "different":
        r.different = True
        r.refusing = term.surface[0] == "not"  # "not that blue shirt" refuses blue; "another blue" asks it
    elif role == "instead_of":
        r.instead = True
    elif role == "stock":
        if r.negated:
            r.notes.append("'" + " ".join(term.surface) + "' was negated: kept in-stock items only")
        else:
            r.stock = True
        r.reset()
    elif role == "attr":
        _read_attribute(items, index, grounder, r)
    elif role == "relative":
        if not r.negated:
            for wish in term.relative:
                if wish not in r.relative:
                    r.relative.append(wish)
            for attribute, value in term.implied:
                r.add_set(attribute, value, implied=True)
        r.reset()
    elif role == "value":
        _read_value(items, index, grounder, r)


def _read_word(items: list[_Item], index: int, r: _Reading) -> None:
    item = items[index]
    word = item.token or ""
    if word == CLAUSE_BREAK:
        r.reset()
        return
    if word == COMMA:
        keep = r.negated and _list_continues(items, index)
        r.reset(negation=not keep)
        return
    if r.negated and word in (_SCOPE_FILLERS if r.negated_kind else _NEGATION_LEADS):
        return
    if word in lexicon.FILLERS:
        if word not in _SCOPE_FILLERS:
            r.negated = False
        return
    # A content word nothing explains: it ends any pending cue and goes to the query, unless it was
    # negated: embedding a refused word would pull the results towards it.
    previous = _surface(items[index - 1]) if index else None
    if not word.isdigit():
        unknown = word.isalpha() and len(word) >= 3 and word not in lexicon.COMMON_WORDS
        if not r.negated:
            r.query.append(word)
        elif unknown:
            r.refusals += 1
            r.notes.append(f"{UNREAD_PREFIX} '{word}': refused, but there is nothing to filter on "
                           "(not used as search text)")
        if unknown:
            r.leftovers.append(Leftover(word, item.start, r.negated, previous))
    r.reset()


def _surface(item: _Item) -> str:
    return " ".join(item.term.surface) if item.term is not None else (item.token or "")


def _list_continues(items: list[_Item], comma: int) -> bool:
    """After a comma inside a negation: does a list of values go on, closed by "or"/"and"/"nor"?"""
    seen_value = False
    for item in items[comma + 1:]:
        term = item.term
        if term is not None and term.role == "value":
            seen_value = True
        elif term is not None and term.role == "conj":
            return seen_value
        elif item.token == COMMA or (item.token in _SCOPE_FILLERS):
            continue
        else:
            return False
    return False


def _read_attribute(items: list[_Item], index: int, grounder: Grounder, r: _Reading) -> None:
    term = items[index].term
    assert term is not None
    attribute = term.attribute
    tail = grounder.match_tail(_tokens_after(items, index), 0)
    if attribute is None:
        if r.release or r.different or r.same or tail:
            r.notes.append(f"the catalog has no {term.kind} attribute")
        r.reset()
        return
    if tail:
        r.skip_to = items[index].end + tail
        _release(attribute, r)
    elif r.different:  # "any other colour" moves away from the current one; it does not release it
        _exclude_reference(attribute, r)
    elif r.release and not r.negated:
        _release(attribute, r)
        r.reset()
        r.release_chain = True
        return
    elif r.same:
        if attribute not in ("price", "stock") and attribute not in r.keep:
            r.keep.append(attribute)
    elif r.negated and attribute == "price":
        _release(attribute, r)  # "no budget", "without a price limit"
    elif r.negated:
        # "without any pattern" means what "no pattern" means, if the lexicon says ("solid").
        meaning = grounder.index.get(("no", *term.surface))
        if meaning is not None and meaning.role == "value" and meaning.values:
            r.reset()
            _apply_value(meaning, r)
            return
    r.reset(negation=not r.negated or attribute in ("price", "stock"))


def _release(attribute: str, r: _Reading) -> None:
    if attribute == "stock":
        r.stock = True
    else:
        r.add_drop(attribute)


def _exclude_reference(attribute: str, r: _Reading) -> None:
    if attribute in ("price", "stock"):
        return
    reference = r.context.reference_value(attribute)
    if reference is None:
        r.notes.append(f"asked for a different {attribute} but the anchor's {attribute} is unknown")
        return
    r.add_exclude(attribute, reference)


def _tokens_after(items: list[_Item], index: int) -> list[str]:
    out: list[str] = []
    for item in items[index + 1:index + 6]:
        if item.term is not None:
            out.extend(item.term.surface)
        elif item.token is not None:
            out.append(item.token)
    return out


def _read_value(items: list[_Item], index: int, grounder: Grounder, r: _Reading) -> None:
    term = items[index].term
    assert term is not None
    surface = " ".join(term.surface)
    if not term.values:
        # A fashion word this catalog cannot filter on ("linen" without a material attribute).
        if term.relative and not r.negated:
            for wish in term.relative:
                if wish not in r.relative:
                    r.relative.append(wish)
        elif r.negated or term.exclude:
            r.refusals += 1
            r.notes.append(f"the catalog has no {term.kind} to filter out '{surface}': ignored "
                           "(not used as search text)")
        else:
            r.notes.append(f"the catalog has no {term.kind} matching '{surface}': kept it as text")
            r.query.append(surface)
        return
    tail = grounder.match_tail(_tokens_after(items, index), 0)
    if tail:
        r.skip_to = items[index].end + tail
        for attribute, _ in term.values:
            r.add_drop(attribute)  # "linen doesn't matter"
        r.reset()
        return
    if r.release and not r.negated and not r.release_any:
        for attribute, _ in term.values:
            r.add_drop(attribute)  # "forget the linen"
        r.reset()
        r.release_chain = True
        return
    if r.instead:
        r.notes.append(f"'{surface}' is what is being replaced: not required, not excluded")
        r.reset(negation=False)
        return
    if r.negated and term.kind == "category" and r.negated_kind not in (None, "category") \
            and items[index - 1].term is not None and items[index - 1].term.role == "value":
        # "no checked shirts": the product type names what the excluded pattern is on.
        r.notes.append(f"'{surface}' after '{_surface(items[index - 1])}' read as the product it describes")
        return
    if r.negated and _followed_by(items, index, "instead"):
        r.reset()  # "not blue, green instead" / "not blue and green instead": green is the wish
        _apply_value(term, r)
        return
    if r.different and r.refusing:
        r.reset()  # "not that blue shirt": blue is refused
        _exclude_values(term, r)
        return
    if r.negated or term.exclude:
        if r.negated and term.exclude:
            r.notes.append(f"double negation around '{surface}': read as an exclusion")
        _exclude_values(term, r)
        r.reset(negation=False)  # the negation keeps going through a list of values
        r.negated_kind = term.kind if r.negated else None
        return
    _apply_value(term, r)


def _followed_by(items: list[_Item], index: int, word: str) -> bool:
    nxt = items[index + 1] if index + 1 < len(items) else None
    return nxt is not None and nxt.term is None and nxt.token == word


def _exclude_values(term: Term, r: _Reading) -> None:
    for attribute, value in term.values:
        if term.field:
            r.add_field(term.field, value, refuse=True)
        else:
            r.add_exclude(attribute, value)


def _apply_value(term: Term, r: _Reading) -> None:
    """A wanted value: required (or, for "no prints"-style words, excluded)."""
    if term.exclude:
        _exclude_values(term, r)
        r.reset()
        return
    for attribute, value in term.values:
        if term.field:
            r.add_field(term.field, value)
        else:
            r.add_set(attribute, _anchor_specific(attribute, value, term, r.context))
    for attribute, value in term.implied:
        r.add_set(attribute, value, implied=True)
    r.reset()


def _anchor_specific(attribute: str, value: str, term: Term, context: PlanContext) -> str:
    """'same shoes' for formal shoes means formal shoes, not the family's default casual shoes."""
    if term.kind != "category":
        return value
    anchored = context.anchor.get(attribute)
    if not anchored or anchored == value or (attribute, anchored) not in term.family:
        return value
    head = term.surface[-1].rstrip("s")
    return anchored if anchored.split()[-1].rstrip("s") == head else value


def _finish(r: _Reading, price_min: float | None, price_max: float | None) -> Plan:
    set_ = {**r.implied, **r.explicit}
    exclude = {a: [v for v in vals if set_.get(a) != v] for a, vals in r.exclude.items()}
    exclude = {a: vals for a, vals in exclude.items() if vals}
    named = {**r.explicit, **({BRAND: ""} if r.brands else {}), **({SIZE: ""} if r.sizes else {})}
    drop = [a for a in r.drop if a not in named]  # "forget nordvik, kestrel then" still asks for kestrel
    return Plan(
        set=set_,
        exclude=exclude,
        price_min=price_min,
        price_max=price_max,
        relative=r.relative,
        keep=[k for k in r.keep if k not in set_],
        drop=drop,
        include_out_of_stock=r.stock,
        query=" ".join(dict.fromkeys(r.query)),
        source="rules",
        notes=r.notes,
        brands=list(r.brands),
        exclude_brands=list(r.exclude_brands),
        sizes=list(r.sizes),
    )
