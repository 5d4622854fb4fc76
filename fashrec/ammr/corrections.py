"""AMMR stage 1b, corrections: the shopper overrides what was read from the anchor.

``--anchor category=dresses`` (repeatable), ``/anchor category=dresses`` or "it's a dress" in a chat:
each named attribute takes the given value with certainty (source ``you said``), and the guess it
replaces stays visible next to it. Attributes and values are checked against the catalog's vocabulary,
so a typo is an error that names the closest spelling instead of a silent miss. The price estimate is
made again, since it depends on what the anchor is (:func:`fashrec.ammr.anchor.estimate_price`).
"""

from __future__ import annotations

import difflib
from typing import Iterable, Mapping

from fashrec.ammr.anchor import SHOPPER
from fashrec.ammr.anchor import correct_anchor as corrected
from fashrec.ammr.types import Anchor
from fashrec.catalog import normalize_key, normalize_value
from fashrec.errors import UsageError, shown
from fashrec.index import Index

YOU_SAID = SHOPPER     # the source of what the shopper corrected ("you said")


OPTION_EXAMPLE = "--anchor category=dresses --anchor color=red"
CHAT_EXAMPLE = "/anchor category=dresses color=red"   # a chat line holds all its pairs


def parse_overrides(expressions: Iterable[str] | None, *, given_as: str = "--anchor",
                    example: str = OPTION_EXAMPLE) -> dict[str, str]:
    """``["category=dresses", "color = red"]`` -> ``{"category": "dresses", "color": "red"}`` (later wins).

    ``given_as`` and ``example``: how the shopper wrote them, so a refusal speaks their words (a chat's
    ``/anchor`` line, :data:`CHAT_EXAMPLE`, not the command line's option)."""
    out: dict[str, str] = {}
    for expr in expressions or ():
        attr, sep, value = str(expr).partition("=")
        attr, value = normalize_key(attr), normalize_value(value)
        if not sep or not attr or not value:
            raise UsageError(f"{given_as} expects attribute=value, got '{expr}'", hint=f"e.g. {example}")
        out[attr] = value
    return out


def normalized_overrides(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """Corrections given as a mapping (a request's ``anchor``, a Python caller's dict) in the catalog's
    spelling. An empty name or value is refused in the mapping's own words: whoever sent it never wrote
    --anchor's attribute=value, and a name is not split at an "=" it happens to hold."""
    out: dict[str, str] = {}
    for attr, value in (overrides or {}).items():
        key, said = normalize_key(attr), normalize_value(value)
        if not key or not said:
            raise UsageError(f"anchor: attribute names and values must not be empty (got {shown(dict(overrides))})",
                             hint='e.g. {"category": "dress", "color": "red"}')
        out[key] = said
    return out


def check_overrides(index: Index, overrides: dict[str, str]) -> dict[str, str]:
    """The overrides, each attribute and value checked against the catalog (an error names the nearest)."""
    vocabulary = index.vocabulary
    for attr, value in overrides.items():
        attributes = vocabulary.attributes()
        if attr not in attributes:
            raise UsageError(f"the catalog has no attribute '{attr}'" + _did_you_mean(attr, attributes, f"{{}}={value}"),
                             hint=f"attributes: {', '.join(attributes)}")
        values = vocabulary.values(attr)
        if value not in values:
            raise UsageError(f"the catalog has no {attr} '{value}'" + _did_you_mean(value, values, f"{attr}={{}}"),
                             hint=f"{attr} is one of: {', '.join(values[:12])}")
    return overrides


def correct_anchor(index: Index, anchor: Anchor, overrides: dict[str, str]) -> Anchor:
    """A copy of ``anchor`` with ``overrides`` applied, checked first (a typo names the nearest value);
    the guess each replaces stays as ``guessed`` and the price estimate follows
    (:func:`fashrec.ammr.anchor.correct_anchor`)."""
    if not overrides:
        return anchor
    overrides = normalized_overrides(overrides)
    check_overrides(index, overrides)
    return corrected(anchor, overrides, index)


def _did_you_mean(word: str, choices: list[str], template: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {template.format(close[0])}?)" if close else ""
