"""Planner layer: the occasion a shopper names, as this catalog's own usage value.

Refine and chat read occasions inside a request ("for a wedding"); ``fashrec outfit --occasion`` names
one on its own. Both go through the same table (``lexicon.USAGES``) grounded in the catalog's
vocabulary, so "wedding" means the same thing everywhere, and an occasion the catalog has no value for
is refused with the values it does have, rather than silently matching nothing.
"""

from __future__ import annotations

from fashrec.catalog import Vocabulary
from fashrec.errors import UsageError
from fashrec.planner.grounding import grounder_for
from fashrec.planner.tokens import sanitize, tokenize


def catalog_occasions(vocabulary: Vocabulary) -> list[str]:
    """The usage values this catalog has (most frequent first); empty without a usage attribute."""
    attribute = grounder_for(vocabulary).kind_attribute.get("usage")
    return vocabulary.values(attribute) if attribute else []


def read_occasion(text: str, vocabulary: Vocabulary, *, given_as: str = "--occasion") -> str:
    """The catalog's usage value ``text`` names ("Wedding" -> party, "for the office" -> formal).

    Raises :class:`UsageError` naming the catalog's own occasions when ``text`` names none of them;
    ``given_as``: where the occasion came from, as the hint tells what to leave out (a request's field
    ``'occasion'``, not the command line's option).
    """
    grounder = grounder_for(vocabulary)
    attribute = grounder.kind_attribute.get("usage")
    tokens = [t for t in tokenize(sanitize(text)) if t not in (".", ",")]
    for start in range(len(tokens)):
        term = grounder.match(tokens, start)
        for attr, value in (term.values if term is not None and term.role == "value" else ()):
            if attr == attribute:
                return value
    known = catalog_occasions(vocabulary)
    if not known:
        raise UsageError(f"occasion '{text}': this catalog has no occasion (usage) attribute",
                         hint=f"leave out {given_as}")
    raise UsageError(f"occasion '{text}' is not one this catalog knows",
                     hint=f"its occasions: {', '.join(known)}")
