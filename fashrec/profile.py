"""Personal layer: the shopper's profile, standing wishes applied to every recommendation.

A profile does not wrap the refinement: it turns into limits. ``RefineOptions(profile=profile)`` makes the
AMMR loop call :meth:`Profile.apply` once the request is planned (a request can override a rule), and
:func:`profile_limits` gives search, similar and outfits the same rules as filters and boosts.

Stored as ``$FASHREC_HOME/profile.json`` (versioned, written atomically). The rules and how strong each is:

Hard limits -- never relaxed by the agent's re-plan loop:

- ``budget``: products priced above it are dropped by the critic (``CriticConfig.budget``). Products with
  no price are kept (there is nothing to hold against them). A request that names its own price ("under
  100") or releases it ("forget the budget") overrides the profile for that request.
- ``size``: products that list their sizes must offer this one; products that list none are kept. A
  request that names sizes ("in size L") or releases them ("any size") overrides it for that request.

Soft preferences -- they give way to what the shopper explicitly asks for:

- ``avoid``: values (any attribute: "black", "polyester") whose products are left out, *unless* the request
  asks for that value or the anchor the shopper chose has it (choosing a black dress is asking for black).
- ``prefer`` / ``brands``: a small ranking boost (never a filter) for products with a preferred value or
  from a preferred brand.

Every rule that shaped a result is reported: a ``profile`` section in the JSON and a ``profile:`` clause in
the reason text of each result it touched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from fashrec.catalog import Product, normalize_value
from fashrec.errors import ProfileError, UsageError
from fashrec.fsutil import atomic_write_bytes
from fashrec.settings import home_dir, home_folder

if TYPE_CHECKING:   # the profile is read (and sent with --server) without the numpy-heavy index stack
    from fashrec.ammr import Anchor, Booster, Candidate, CriticConfig
    from fashrec.index import Index
    from fashrec.planner import Plan

PROFILE_VERSION = 1
PROFILE_FILE = "profile.json"
LIST_KEYS = ("avoid", "prefer", "brands")
KEYS = ("size", "budget", *LIST_KEYS)
PREFER_BOOST = 0.04   # per preferred value, at most MAX_PREFER_BOOST in all (similarities are ~0.2-0.9)
MAX_PREFER_BOOST = 0.08
BRAND_BOOST = 0.04
ANCHOR_CONFIDENCE = 0.5  # an anchor attribute this confident counts as "the shopper chose it"


@dataclass
class Profile:
    size: str | None = None
    budget: float | None = None
    avoid: list[str] = field(default_factory=list)
    prefer: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.size is None and self.budget is None and not (self.avoid or self.prefer or self.brands)

    def apply(self, index: Index, anchor: Anchor, plan: Plan, critic: CriticConfig) -> "AppliedProfile":
        """The rules as limits for one planned request (what ``RefineOptions(profile=...)`` calls)."""
        return apply_profile(self, index, anchor, plan, critic)

    def to_dict(self) -> dict:
        return {"version": PROFILE_VERSION, "size": self.size, "budget": self.budget, "avoid": list(self.avoid),
                "prefer": list(self.prefer), "brands": list(self.brands)}

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        """Rebuild a saved profile; anything malformed is an error rather than silently ignored."""
        profile = cls()
        for key in KEYS:
            value = data.get(key)
            if value is None or value == []:
                continue
            raw = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            profile = profile.with_values({key: raw})
        return profile

    def with_values(self, values: dict[str, str]) -> "Profile":
        """A copy with ``key -> raw text`` assignments applied; an empty value clears that key."""
        data = {"size": self.size, "budget": self.budget, "avoid": list(self.avoid), "prefer": list(self.prefer),
                "brands": list(self.brands)}
        for key, raw in values.items():
            key = key.strip().casefold()
            if key not in KEYS:
                raise UsageError(f"unknown profile key '{key}' (known: {', '.join(KEYS)})")
            raw = raw.strip()
            if key == "budget":
                data[key] = _parse_budget(raw) if raw else None
            elif key == "size":
                data[key] = raw or None
            else:
                items = [" ".join(x.split()) for x in raw.split(",")]
                items = [x for x in items if x]
                if key != "brands":
                    items = [normalize_value(x) for x in items]
                data[key] = list(dict.fromkeys(items))
        return Profile(**data)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["size=M", "brands=Acme,Zed"]`` -> ``{"size": "M", "brands": "Acme,Zed"}`` (later wins)."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected key=value, got '{pair}'",
                             hint="e.g. fashrec profile set size=M budget=60 avoid=black prefer=linen")
        out[key.strip().casefold()] = value
    return out


def _parse_budget(raw: str) -> float:
    try:
        value = float(raw.strip().lstrip("$€£").strip())
    except ValueError:
        raise UsageError(f"budget must be a number, got '{raw}'") from None
    if not value > 0 or value == float("inf"):
        raise UsageError(f"budget must be a positive number, got '{raw}'")
    return value


# --- storage -------------------------------------------------------------------------------------

def profile_path() -> Path:
    return home_dir() / PROFILE_FILE


def load_profile(path: Path | None = None) -> Profile:
    """The saved profile, or an empty one when none was saved."""
    path = path or profile_path()
    if not path.exists():
        return Profile()
    _check_is_file(path)
    hint = f"fix or delete it: fashrec profile clear (file: {path})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"profile file {path} is unreadable: {exc}", hint=hint) from exc
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ProfileError(f"profile file {path} has no version", hint=hint)
    if data["version"] > PROFILE_VERSION:
        raise ProfileError(f"profile {path} was written by a newer fashrec (version {data['version']}, this one "
                           f"reads up to {PROFILE_VERSION})", hint="upgrade fashrec, or: fashrec profile clear")
    try:
        return Profile.from_dict(data)
    except UsageError as exc:
        raise ProfileError(f"profile file {path} is invalid: {exc.message}", hint=hint) from exc


def load_profile_unless(disabled: bool) -> Profile | None:
    """The saved profile, or None when disabled or empty (callers then skip profile rules entirely)."""
    if disabled:
        return None
    profile = load_profile()
    return None if profile.is_empty() else profile


def _check_is_file(path: Path) -> None:
    if not path.is_file():
        raise ProfileError(f"profile {path} is not a file (a folder?), and fashrec did not write it",
                           hint=f"move it away: fashrec will then start from an empty profile ({path})")


def save_profile(profile: Profile, path: Path | None = None) -> Path:
    if path is None:
        home_folder()
        path = profile_path()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(profile.to_dict(), indent=2, ensure_ascii=False) + "\n").encode())
    return path


def clear_profile(path: Path | None = None) -> bool:
    path = path or profile_path()
    existed = path.exists()
    if existed:
        _check_is_file(path)   # never removes a folder of the user's
    path.unlink(missing_ok=True)
    return existed


# --- applying the rules --------------------------------------------------------------------------

@dataclass
class ProfileEffect:
    """One rule as applied to one request (applied or deliberately not, and why)."""

    rule: str       # "budget", "size", "avoid", "prefer", "brands"
    strength: str   # "hard" or "soft"
    applied: bool
    detail: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class AppliedProfile:
    """What the profile changes for one request: the critic, ids left out, and a ranking boost."""

    profile: Profile
    critic: CriticConfig
    exclude_ids: set[str]
    boost: Booster | None
    effects: list[ProfileEffect]
    # The same ids by the rule that left them out ("budget", "size", "avoid"), so an empty answer can
    # say which rule emptied it.
    excluded_by: dict[str, set[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rules": [e.to_dict() for e in self.effects], "excluded": len(self.exclude_ids)}

    def notes_for(self, candidate: Candidate) -> list[str]:
        """Which rule shaped this result: its profile boosts, and the budget it was held to."""
        notes = [f"{name} (+{value:.2f})" for name, value in candidate.boosts.items() if name.startswith("profile:")]
        budget_applied = any(e.rule == "budget" and e.applied for e in self.effects)
        if budget_applied and self.critic.budget is not None and candidate.product.price is not None:
            notes.append(f"profile: within your budget {self.critic.budget:g}")
        return notes


def apply_profile(profile: Profile, index: Index, anchor: Anchor, plan: Plan,
                  critic: CriticConfig) -> AppliedProfile:
    """Turn the profile into concrete limits for a request (see the module docstring for the rules)."""
    effects: list[ProfileEffect] = []
    exclude: set[str] = set()
    excluded_by: dict[str, set[str]] = {}
    critic = replace(critic)

    if profile.budget is not None:
        if "price" in plan.drop:
            effects.append(ProfileEffect("budget", "hard", False,
                                         f"budget {profile.budget:g} not applied: the request releases the price"))
        elif plan.price_max is not None:
            effects.append(ProfileEffect("budget", "hard", False, f"budget {profile.budget:g} not applied: the "
                                         f"request sets its own price (<= {plan.price_max:g})"))
        else:
            critic.budget = profile.budget if critic.budget is None else min(critic.budget, profile.budget)
            effects.append(ProfileEffect("budget", "hard", True, f"price capped at {critic.budget:g}"))

    if profile.size and (plan.sizes or "size" in plan.drop):
        why = f"the request asks for size {'/'.join(plan.sizes)}" if plan.sizes else "the request releases the size"
        effects.append(ProfileEffect("size", "hard", False, f"size {profile.size} not applied: {why}"))
    elif profile.size:
        size = normalize_value(profile.size)
        unsized = set(index.ids_without_size(size))
        exclude |= unsized
        excluded_by["size"] = unsized
        effects.append(ProfileEffect("size", "hard", True, f"size {profile.size}: {len(unsized)} products that do "
                                     "not offer it left out (products listing no sizes are kept)"))

    chosen = anchor.values(ANCHOR_CONFIDENCE)
    for value in profile.avoid:
        attrs = index.vocabulary.attributes_with(value)
        if not attrs:
            effects.append(ProfileEffect("avoid", "soft", False, f"avoid {value}: not a value in this catalog"))
            continue
        for attr in attrs:
            if plan.set.get(attr) == value:
                effects.append(ProfileEffect("avoid", "soft", False, f"avoid {attr}={value}: the request asks for it"))
            elif chosen.get(attr) == value:
                effects.append(ProfileEffect("avoid", "soft", False,
                                             f"avoid {attr}={value}: the anchor you chose is {value}"))
            else:
                ids = set(index.ids_where(attr, value))
                exclude |= ids
                excluded_by.setdefault("avoid", set()).update(ids)
                effects.append(ProfileEffect("avoid", "soft", True, f"{attr}={value} left out ({len(ids)} products)"))

    boost = _booster(profile)
    if profile.prefer:
        effects.append(ProfileEffect("prefer", "soft", True, f"ranking boost for {', '.join(profile.prefer)}"))
    if profile.brands:
        effects.append(ProfileEffect("brands", "soft", True, f"ranking boost for {', '.join(profile.brands)}"))
    return AppliedProfile(profile, critic, exclude, boost, effects, excluded_by)


def profile_limits(profile: Profile, index: Index, anchor: Anchor | None = None,
                   plan: Plan | None = None) -> AppliedProfile:
    """The profile as per-product limits, for commands that pick products without a plan or critic.

    Same rules as :func:`apply_profile` with no request to override them: over-budget products (those with
    a price), products without the profile's size (those listing sizes) and avoided values are all in
    ``exclude_ids`` -- except a value the ``anchor`` itself has (the shopper chose it). The budget is a limit
    per product, as everywhere else. ``boost`` still ranks preferred values and brands first. ``plan``, what
    a search query asked for, overrides the profile as a refinement's request does ("black t-shirt" finds
    black ones though the profile avoids black).
    """
    from fashrec.ammr import CriticConfig  # deferred: numpy and the index (see the imports above)
    from fashrec.planner import Plan

    applied = apply_profile(profile, index, anchor if anchor is not None else _NO_ANCHOR, plan or Plan(),
                            CriticConfig())
    if applied.critic.budget is not None:
        budget = applied.critic.budget
        over = set(index.ids_priced_over(budget))
        applied.exclude_ids |= over
        applied.excluded_by["budget"] = over
        for effect in applied.effects:
            if effect.rule == "budget" and effect.applied:
                effect.detail = f"price capped at {budget:g}: {len(over)} products over it left out"
    return applied


class _NoAnchor:
    """Stands in for an anchor when there is none: it has no attributes to honour."""

    def values(self, min_confidence: float = 0.0) -> dict[str, str]:
        return {}


_NO_ANCHOR = _NoAnchor()


def _booster(profile: Profile) -> Booster | None:
    prefer = set(profile.prefer)
    brands = {b.casefold() for b in profile.brands}
    if not prefer and not brands:
        return None

    def boost(product: Product) -> dict[str, float]:
        out: dict[str, float] = {}
        matched = sorted(prefer.intersection(v for vals in product.attributes.values() for v in vals))
        if matched:
            out[f"profile: prefers {', '.join(matched)}"] = min(PREFER_BOOST * len(matched), MAX_PREFER_BOOST)
        if product.brand and product.brand.casefold() in brands:
            out[f"profile: likes {product.brand}"] = BRAND_BOOST
        return out

    return boost
