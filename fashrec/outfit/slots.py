"""Outfit layer: the slot definition: which garment groups complete a look around an anchor, and how values fit.

Everything a stylist might want to change lives in ``fashrec/data/outfit_slots.json`` (or a copy passed
as ``path``), not in code: the category names of each group, the slots per anchor group, and the
gender / occasion / season fit tables. Catalog category values are matched to groups by name, case-
and plural-insensitively ("Tshirts" = "t-shirt"), falling back to the last word ("denim jackets" ->
"jacket") so unseen catalogs mostly work without editing the file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fashrec.errors import UsageError

TRAITS = ("gender", "occasion", "season")


def _singular(word: str) -> str:
    """Crude but symmetric: both the definition and catalog values go through it, so it need only
    map a plural and its singular onto the same key ("watches"/"watch", "dresses"/"dress")."""
    if len(word) <= 3 or word.endswith(("ss", "us")):
        return word
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def category_key(value: str) -> str:
    """Normalised name for matching: casefolded, last word singular, no spaces or hyphens."""
    words = re.sub(r"[-_/]+", "", str(value).casefold()).split()
    if not words:
        return ""
    words[-1] = _singular(words[-1])
    return "".join(words)


def _head_key(value: str) -> str:
    words = str(value).casefold().replace("-", " ").split()
    return category_key(words[-1]) if words else ""


@dataclass(frozen=True)
class Slot:
    name: str          # how the piece is labelled in an outfit ("footwear")
    group: str         # the garment group it is drawn from
    optional: bool = False


@dataclass
class FitTable:
    """How well a piece's value fits the outfit's wanted value (0 excludes the piece)."""

    fit: dict[str, dict[str, float]]
    aliases: dict[str, str] = field(default_factory=dict)
    unknown: float = 0.5

    def canonical(self, value: str | None) -> str | None:
        if value is None:
            return None
        key = " ".join(str(value).split()).casefold()
        return self.aliases.get(key, key) if key else None

    def score(self, wanted: str | None, value: str | None) -> float:
        """Fit of ``value`` for an outfit that wants ``wanted`` (either may be unknown)."""
        wanted, value = self.canonical(wanted), self.canonical(value)
        if wanted is None or value is None:
            return self.unknown
        row = self.fit.get(wanted)
        if row is None:   # a wanted value the table does not know: only an exact match is evidence
            return 1.0 if value == wanted else self.unknown
        return float(row.get(value, 0.0))

    def known(self, value: str | None) -> bool:
        return self.canonical(value) in self.fit


@dataclass
class SlotDefinition:
    groups: dict[str, list[str]]
    outfits: dict[str, list[Slot]]
    tables: dict[str, FitTable]
    ignore: set[str] = field(default_factory=set)
    source: str = ""
    _keys: dict[str, str] = field(default_factory=dict, repr=False)
    _ignored: set[str] = field(default_factory=set, repr=False)
    _seen: dict[str, str | None] = field(default_factory=dict, repr=False)   # category -> group cache

    def __post_init__(self) -> None:
        for group, names in self.groups.items():
            for name in names:
                self._keys.setdefault(category_key(name), group)
        self._ignored = {category_key(n) for n in self.ignore}

    def group_of(self, category: str | None) -> str | None:
        """The garment group of a catalog category value, or None if it is not worn in outfits."""
        if not category:
            return None
        if category not in self._seen:
            key = category_key(category)
            if key in self._ignored:
                group = None
            else:
                group = self._keys.get(key) or self._keys.get(_head_key(category))
            self._seen[category] = group
        return self._seen[category]

    def slots_for(self, group: str) -> list[Slot]:
        return list(self.outfits.get(group, []))


def _fail(source: str, message: str) -> UsageError:
    return UsageError(f"outfit slot definition {source}: {message}",
                      hint="fix the file, or leave out --slots to use the built-in definition")


def _table(raw: Any, name: str, source: str) -> FitTable:
    if not isinstance(raw, dict) or not isinstance(raw.get("fit"), dict):
        raise _fail(source, f"'{name}' needs a 'fit' object")
    fit: dict[str, dict[str, float]] = {}
    for wanted, row in raw["fit"].items():
        if not isinstance(row, dict):
            raise _fail(source, f"'{name}.fit.{wanted}' must be an object of value -> score")
        fit[wanted.casefold()] = {}
        for value, score in row.items():
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
                raise _fail(source, f"'{name}.fit.{wanted}.{value}' must be a number between 0 and 1")
            fit[wanted.casefold()][value.casefold()] = float(score)
    aliases = {str(k).casefold(): str(v).casefold() for k, v in (raw.get("aliases") or {}).items()}
    unknown = raw.get("unknown", 0.5)
    if isinstance(unknown, bool) or not isinstance(unknown, (int, float)) or not 0 <= unknown <= 1:
        raise _fail(source, f"'{name}.unknown' must be a number between 0 and 1")
    return FitTable(fit, aliases, float(unknown))


def parse_definition(data: Any, source: str = "<memory>") -> SlotDefinition:
    """Validate a decoded slot definition; every mistake names the offending key."""
    if not isinstance(data, dict):
        raise _fail(source, "must be a JSON object")
    groups = data.get("groups")
    if not isinstance(groups, dict) or not groups:
        raise _fail(source, "'groups' must map group names to lists of category names")
    for g, names in groups.items():
        if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
            raise _fail(source, f"'groups.{g}' must be a list of category names")
    outfits_raw = data.get("outfits")
    if not isinstance(outfits_raw, dict):
        raise _fail(source, "'outfits' must map anchor groups to lists of slots")
    outfits: dict[str, list[Slot]] = {}
    for anchor_group, slots in outfits_raw.items():
        if anchor_group not in groups:
            raise _fail(source, f"'outfits.{anchor_group}' is not a group")
        if not isinstance(slots, list):
            raise _fail(source, f"'outfits.{anchor_group}' must be a list of slots")
        parsed = []
        for i, s in enumerate(slots):
            if not isinstance(s, dict) or not isinstance(s.get("slot"), str):
                raise _fail(source, f"'outfits.{anchor_group}[{i}]' needs a 'slot' name")
            group = s.get("group", s["slot"])
            if group not in groups:
                raise _fail(source, f"'outfits.{anchor_group}[{i}]' draws from unknown group '{group}'")
            if group == anchor_group:   # an outfit never repeats the anchor's own kind of garment
                raise _fail(source, f"'outfits.{anchor_group}[{i}]' repeats the anchor's own group")
            parsed.append(Slot(s["slot"], group, bool(s.get("optional", False))))
        outfits[anchor_group] = parsed
    tables = {}
    for name in TRAITS:
        tables[name] = _table(data.get(name), name, source)
    ignore = data.get("ignore") or []
    if not isinstance(ignore, list) or not all(isinstance(n, str) for n in ignore):
        raise _fail(source, "'ignore' must be a list of category names")
    return SlotDefinition({g: list(n) for g, n in groups.items()}, outfits, tables, set(ignore), source)


_DEFAULT: SlotDefinition | None = None


def load_definition(path: str | Path | None = None) -> SlotDefinition:
    """The built-in definition (package data), or an edited copy at ``path``."""
    global _DEFAULT
    if path is None:
        if _DEFAULT is None:
            text = resources.files("fashrec").joinpath("data/outfit_slots.json").read_text(encoding="utf-8")
            _DEFAULT = parse_definition(json.loads(text), "fashrec/data/outfit_slots.json")
        return _DEFAULT
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(str(path), f"cannot read it ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(str(path), f"malformed JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_definition(data, str(path))
