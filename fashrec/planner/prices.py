"""Planner layer: budgets in shopper text: "under 40 euros", "less than $50", "between 20 and 50", "£25 max".

A number only becomes a price when a budget word or a currency sits next to it, so "size 40" or "set
price to 0" never turn into a filter. Amounts are kept as written: fashrec does not convert currencies
(rates change; a stale rate would pretend a precision nobody asked for), it notes the mismatch instead.

- "around 50" ("about", "roughly", "approximately", "50 or so", "50ish") is a band of +-20 %: 40..60.
  A budget word wins over it ("a budget of around 60" is a cap of 60: a budget is what one may spend).
- An exclusion before a bound turns it over: "skip anything over 50", "no shoes over 80", "I don't want
  to pay more than 60" cap the price; "nothing under 20" is a floor. The exclusion word is the price's,
  so what stands between stays a wish ("no shoes over 80" still asks for shoes).
- A negative amount ("under -5", "price max -1"), one in scientific notation ("1e309") or a cap of 0 is
  refused with a note, never turned into a nearby number.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from fashrec.planner import lexicon
from fashrec.planner.tokens import normalize, normalize_keep_hyphens

# "around 50" reads as 50 +- this share (documented in the README and the planner labels).
AROUND_BAND = 0.2

CURRENCY_WORDS = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
    "₹": "INR", "rs": "INR", "rs.": "INR", "inr": "INR", "rupee": "INR", "rupees": "INR", "/-": "INR",
}

_NUMBER_WORDS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}

_CUR_BEFORE = r"(?:us\$|\$|€|£|₹|rs\.?|inr|usd|eur|gbp)"
_CUR_AFTER = r"(?:€|\$|£|₹|/-|euros?|eur|dollars?|usd|bucks|quid|pounds?|gbp|rupees?|rs\.?|inr)"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
# One amount: optional currency before, the number (1k = 1000), optional currency after.
AMOUNT = (
    rf"(?P<{{p}}cb>{_CUR_BEFORE})?\s*(?P<{{p}}n>{_NUM})\s*(?P<{{p}}k>k\b)?"
    rf"(?:\s*(?P<{{p}}ca>{_CUR_AFTER})(?![a-z]))?"
)


def _amount(prefix: str) -> str:
    return AMOUNT.replace("{p}", prefix)


_MAX_CUES = (
    r"under|below|beneath|less\s+th[ae]n|lower\s+th[ae]n|cheaper\s+th[ae]n|no\s+more\s+th[ae]n|"
    r"not\s+more\s+th[ae]n|not\s+over|not\s+above|nothing\s+(?:over|above|more\s+th[ae]n)|"
    r"no(?:thing)?\s+(?:higher|pricier)\s+th[ae]n|max(?:imum)?|at\s+most|up\s*to|within|"
    r"budget(?:\s+(?:is|of))?(?:\s+(?:around|about|roughly|approx(?:imately)?))?|<=?|≤"
)
_MIN_CUES = r"over|above|more\s+th[ae]n|at\s+least|min(?:imum)?|starting\s+(?:at|from)|no\s+less\s+th[ae]n|>=?|≥"
_AROUND_CUES = r"around|about|approx(?:imately|\.)?|roughly|circa|more\s+or\s+less|~"
_AROUND_SUFFIX = r"or\s+so|ish|give\s+or\s+take"
# Words that refuse what follows; before "over 50" they refuse the dearer products, i.e. cap the price.
_EXCLUSIONS = (r"skip|nothing|none|no|avoid|exclude|excluding|without|never|rather\s+not|"
               r"(?:i\s+)?(?:dont|do\s+not)\s+(?:want|need|show|like|give)")
_UPPER_WORDS = r"over|above|more\s+th[ae]n|higher\s+th[ae]n|pricier\s+th[ae]n|beyond|exceeding|past"
_LOWER_WORDS = r"under|below|less\s+th[ae]n|cheaper\s+th[ae]n|lower\s+th[ae]n"
# "no prints over 50": "no prints" is a lexicon phrase of its own, not an exclusion of the price.
_NO_PHRASE_WORDS = sorted({s.split()[1] for table in lexicon.KIND_TABLES.values() for key in table
                           for s in key.split("|") if s.startswith("no ") and len(s.split()) > 1})
# Up to four words between the exclusion and the bound, none of them ending the clause.
_BETWEEN = rf"(?P<mid>(?:\s+(?!(?:but|and|or|yet|then|{'|'.join(_NO_PHRASE_WORDS)})\b)[a-z]+){{0,4}}?)"
_MAX_SUFFIX = r"max(?:imum)?|tops|or\s+less|or\s+under|at\s+most|limit|budget"
_WB = r"(?<![a-z0-9])"

# Amounts no budget can be: refused by name instead of read as the number next to them ("1e309" is not 1).
_SCIENTIFIC_SOURCE = (rf"{_WB}(?:(?:{_MAX_CUES}|{_MIN_CUES}|{_AROUND_CUES})\s*)?(?:{_CUR_BEFORE})?\s*"
                      rf"\d+(?:\.\d+)?e[+-]?\d+(?:\s*{_CUR_AFTER}(?![a-z]))?(?![a-z0-9])")
_NEGATIVE_SOURCE = (rf"{_WB}(?:{_MAX_CUES}|{_MIN_CUES}|{_AROUND_CUES}|price|budget)\s*(?:-|minus\s+)\s*(?:{_NUM})"
                    rf"(?:\s*{_CUR_AFTER}(?![a-z]))?")

_PATTERN_SOURCES: list[tuple[str, str]] = [
    ("range", rf"{_WB}(?:between|from)\s+{_amount('a')}\s*(?:and|to|-)\s*{_amount('b')}"),
    ("range", rf"{_WB}{_amount('a')}\s*(?:-|to)\s*{_amount('b')}(?=\s|$|[,.;!?])"),
    ("refused_max", rf"{_WB}(?P<neg>{_EXCLUSIONS}){_BETWEEN}\s+(?:{_UPPER_WORDS})\s*{_amount('a')}"),
    ("refused_min", rf"{_WB}(?P<neg>{_EXCLUSIONS}){_BETWEEN}\s+(?:{_LOWER_WORDS})\s*{_amount('a')}"),
    ("max", rf"{_WB}(?:{_MAX_CUES})\s*(?:the\s+)?{_amount('a')}"),
    ("max", rf"{_WB}{_amount('a')}\s*(?:{_MAX_SUFFIX})(?![a-z])"),
    ("around", rf"{_WB}(?:{_AROUND_CUES})\s*{_amount('a')}"),
    ("around", rf"{_WB}{_amount('a')}\s*(?:{_AROUND_SUFFIX})(?![a-z])"),
    ("min", rf"{_WB}(?:{_MIN_CUES})\s*{_amount('a')}"),
    ("min", rf"{_WB}from\s+{_amount('a')}(?!\s*(?:to|-))"),
    ("bare", rf"{_WB}{_amount('a')}"),
]
# Every pattern above needs a digit (an amount is digits once words_to_numbers has run), so text
# without one skips them all.
_DIGIT = re.compile(r"\d")


@functools.cache
def _compiled() -> tuple[re.Pattern[str], re.Pattern[str], list[tuple[str, re.Pattern[str]]]]:
    """The budget patterns, compiled on the first request that holds a digit: compiling them costs
    ~30 ms, a third of a cold query's own work, and most requests ("but in linen") name no amount."""
    return (re.compile(_NEGATIVE_SOURCE), re.compile(_SCIENTIFIC_SOURCE),
            [(kind, re.compile(source)) for kind, source in _PATTERN_SOURCES])


@dataclass
class PriceFinding:
    """The budget a request states, and where in the normalized text it was found."""

    price_min: float | None = None
    price_max: float | None = None
    currency: str | None = None
    spans: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.price_min is not None or self.price_max is not None


def words_to_numbers(text: str) -> str:
    """'under fifty euros' -> 'under 50 euros' (tens, teens and 'a hundred'; never plain 'one')."""
    def tens(m: re.Match[str]) -> str:
        value = _NUMBER_WORDS[m.group(1)]
        if m.group(2):
            value += _UNITS[m.group(2)]
        return str(value)

    units = "|".join(_UNITS)
    text = re.sub(rf"\b({'|'.join(_NUMBER_WORDS)})(?:[\s-]({units}))?\b", tens, text)
    text = re.sub(rf"\b(a|{units})\s+hundred\b",
                  lambda m: str(100 * _UNITS.get(m.group(1), 1)), text)
    text = re.sub(rf"\b(a|{units})\s+thousand\b",
                  lambda m: str(1000 * _UNITS.get(m.group(1), 1)), text)
    return text


def _value(m: re.Match[str], prefix: str) -> float:
    number = float(m.group(f"{prefix}n").replace(",", ""))
    if m.group(f"{prefix}k"):
        number *= 1000
    return number


def _currency(m: re.Match[str], *prefixes: str) -> str | None:
    for prefix in prefixes:
        for part in ("cb", "ca"):
            mark = m.group(f"{prefix}{part}")
            if mark:
                return CURRENCY_WORDS.get(mark.strip())
    return None


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def find_prices(text: str, catalog_currency: str | None = None) -> tuple[PriceFinding, str]:
    """The budget in ``text`` and the normalized text with the budget phrases blanked out.

    The returned text is what the rest of the planner reads, so "35 euros tops" is never read as the
    category "tops" and "less than 40" never as a negation.
    """
    # Hyphens still matter here ("20-40€"); they are flattened after the budget is blanked out.
    norm = words_to_numbers(normalize_keep_hyphens(text))
    finding = PriceFinding()
    patterns = _compiled()[2] if _DIGIT.search(norm) else []
    if patterns:
        _refuse_impossible(norm, finding)
    for kind, pattern in patterns:
        for m in pattern.finditer(norm):
            if not _overlaps(m.span(), finding.spans):
                finding.spans.extend(_read(kind, m, finding))
    if finding.found and finding.currency and catalog_currency and finding.currency != catalog_currency.upper():
        finding.notes.append(
            f"the budget is in {finding.currency} but the catalog prices are in {catalog_currency.upper()}; "
            "used the amount as written"
        )
    blanked = list(norm)
    for a, b in finding.spans:
        blanked[a:b] = " . " + " " * max(0, b - a - 3) if b - a >= 3 else " " * (b - a)
    return finding, normalize("".join(blanked))


def _refuse_impossible(norm: str, finding: PriceFinding) -> None:
    """Negative and scientific-notation amounts: noted and blanked, so no pattern reads a piece of them."""
    negative, scientific, _ = _compiled()
    for pattern, why in ((negative, "a price cannot be negative"), (scientific, "not a price")):
        for m in pattern.finditer(norm):
            if not _overlaps(m.span(), finding.spans):
                finding.notes.append(f"ignored '{m.group(0).strip()}': {why}")
                finding.spans.append(m.span())


def _read(kind: str, m: re.Match[str], finding: PriceFinding) -> list[tuple[int, int]]:
    """Record what one match says about the budget; the spans of text it used up (none: not a budget)."""
    if kind == "range":
        low, high = _value(m, "a"), _value(m, "b")
        has_cue = m.group(0).lstrip().startswith(("between", "from"))
        if not (has_cue or _currency(m, "a", "b") or "-" in m.group(0)):
            return []
        finding.price_min, finding.price_max = min(low, high), max(low, high)
        finding.currency = finding.currency or _currency(m, "a", "b")
        return [m.span()]
    value = _value(m, "a")
    if kind == "bare":
        # A lone number is a budget only with a currency ("a 40 euro one", "€35").
        currency = _currency(m, "a")
        if currency is None or finding.price_max is not None:
            return []
        finding.price_max, finding.currency = value, finding.currency or currency
        return [m.span()]
    # The exclusion word belongs to the price; the words between it and the bound stay to be read.
    spans = [m.span("neg"), (m.end("mid"), m.end())] if kind.startswith("refused") else [m.span()]
    if kind in ("max", "refused_max") and value <= 0:
        finding.notes.append(f"ignored a price cap of {value:g}")
        return spans
    if kind == "around":
        if finding.price_min is None and finding.price_max is None:
            low, high = round(value * (1 - AROUND_BAND), 2), round(value * (1 + AROUND_BAND), 2)
            finding.price_min, finding.price_max = low, high
            finding.notes.append(f"read '{m.group(0).strip()}' as {low:g}..{high:g} "
                                 f"(+-{AROUND_BAND * 100:g} %)")
    elif kind in ("max", "refused_max"):
        finding.price_max = value
    else:
        finding.price_min = value
    finding.currency = finding.currency or _currency(m, "a")
    return spans
