"""Catalog layer: catalog values put into English ("tshirts" -> "a tshirt", "men" -> "men's")."""

from __future__ import annotations

# Nouns whose plural is also how one item is named ("a pair of jeans").
_INVARIANT = {
    "jeans", "shorts", "trousers", "pants", "leggings", "capris", "briefs", "boxers", "sunglasses",
    "tights", "stockings", "jeggings", "trunk", "glasses", "dungarees", "pyjamas", "lounge pants",
    "track pants", "innerwear", "accessories", "clothes", "swimwear", "nightwear", "eyewear", "footwear",
    "headwear", "bottomwear", "topwear", "loungewear",
}


# Plurals in -ies whose singular keeps the "ie" ("hoodies", "beanies"), unlike "panties" -> "panty".
_IE_STEMS = ("hood", "bean", "boot", "cook", "night")


def singular(phrase: str) -> str:
    """Singular form of a catalogue noun phrase: "tshirts" -> "tshirt", "watches" -> "watch"."""
    if phrase in _INVARIANT:
        return phrase
    head, _, last = phrase.rpartition(" ")
    if last in _INVARIANT or len(last) < 4 or not last.endswith("s") or last.endswith(("ss", "us", "is")):
        return phrase
    if last.endswith("ies") and len(last) > 4:      # "ties" -> "tie" below
        last = last[:-3] + ("ie" if last[:-3].endswith(_IE_STEMS) else "y")
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    else:
        last = last[:-1]
    return f"{head} {last}" if head else last


def plural_noun(phrase: str) -> str:
    """Plural form of a catalogue noun phrase, whichever form the catalogue uses: "shirt" -> "shirts",
    "dress" -> "dresses", "watches" and "jeans" stay as they are."""
    head, _, last = phrase.rpartition(" ")
    if last in _INVARIANT or singular(last) != last:
        return phrase
    if last.endswith(("ch", "sh", "ss", "x")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "o", "u", ""):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def possessive(gender: str) -> str:
    """'men' -> "men's", 'boys' -> "boys'", 'unisex' -> 'unisex'."""
    if gender == "unisex":
        return gender
    return gender + ("'" if gender.endswith("s") else "'s")


def article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """"1 product", "3 products", "0 products": a count with its noun agreeing."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
