"""Outfit layer: complete the look: build several distinct outfits around an anchor garment.

1. The anchor's garment group (from its category) picks the slots to fill (``outfit_slots.json``).
2. Each slot's candidates are the in-stock products of that group whose gender, usage/occasion and
   season fit the anchor's (a 0 in a fit table excludes a product); they are ranked by consistency,
   colour harmony with the anchor, style agreement of their images with the anchor's and, with an
   encoder, agreement with a text prompt for the occasion. The best few per slot form the pool.
3. Beam search fills the slots in order, scoring each partial outfit as a whole (``outfit.scoring``):
   pairwise colour harmony and style, at most one loud colour, pieces consistent with each other
   (one gender when the anchor is unisex, no summer piece with a winter one).
4. Outfits are found one after another; pieces already used cost a penalty and an identical set of
   pieces is never repeated, so the n outfits differ.

With a personal profile (:func:`fashrec.profile.profile_limits`), its hard limits (budget per piece, size)
and avoided values remove candidates before step 2, and preferred values and brands add their boost to
the pieces' rank and to the outfit score; each piece says which profile rule lifted it.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Callable

import numpy as np

from fashrec.ammr.anchor import Anchor
from fashrec.catalog import Product
from fashrec.catalog.wording import plural
from fashrec.errors import UsageError
from fashrec.index import Index
from fashrec.outfit.harmony import harmony
from fashrec.outfit.scoring import OutfitScorer, PoolScores, Reason, cue_weights
from fashrec.outfit.slots import Slot, SlotDefinition, load_definition
from fashrec.outfit.wardrobe import Traits, Wardrobe, traits_of
from fashrec.planner.occasions import read_occasion

if TYPE_CHECKING:
    from fashrec.encoder import Encoder
    from fashrec.profile import AppliedProfile

MIN_CONFIDENCE = 0.3          # anchor attributes guessed less surely than this count as unknown
CANDIDATES_PER_SLOT = 24
BEAM_WIDTH = 16
DIVERSITY_PENALTY = 0.1       # per piece already used by an earlier outfit
OCCASION_PROMPTS = ("a {o} outfit", "{o} wear", "{o} clothes", "clothes for {o}")
MAX_OUTFITS = 20


@dataclass
class OutfitContext:
    """What the outfit is built around: the anchor's traits and the slots they call for."""

    anchor: Anchor
    traits: Traits
    slots: list[Slot]
    occasion: str | None
    occasion_source: str          # requested | anchor | none
    notes: list[str] = field(default_factory=list)

    def wanted(self) -> dict[str, str | None]:
        return {"gender": self.traits.gender, "occasion": self.occasion, "season": self.traits.season}

    def to_dict(self) -> dict:
        return {**self.anchor.to_dict(), "group": self.traits.group, "category": self.traits.category,
                "traits": self.traits.to_dict(), "occasion": self.occasion,
                "occasion_source": self.occasion_source,
                "slots": [{"slot": s.name, "group": s.group, "optional": s.optional} for s in self.slots],
                "notes": self.notes}


@dataclass
class OutfitPiece:
    slot: str
    product: Product
    reasons: list[str]
    optional: bool = False

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict:
        return {"slot": self.slot, **self.product.summary(), "optional": self.optional, "why": self.why}


@dataclass
class Outfit:
    pieces: list[OutfitPiece]
    score: float
    reasons: list[Reason]
    missing: list[str] = field(default_factory=list)
    empty: dict[str, str] = field(default_factory=dict)   # missing slot -> the rule that left it empty

    @property
    def ids(self) -> list[str]:
        return [piece.product.id for piece in self.pieces]

    def total(self) -> dict:
        """What the added pieces cost together (pieces without a price are counted apart, not as 0)."""
        prices = [p.product.price for p in self.pieces if p.product.price is not None]
        currencies = sorted({p.product.currency for p in self.pieces if p.product.currency})
        return {"price": round(sum(prices), 2) if prices else None,
                "currency": currencies[0] if len(currencies) == 1 else None,
                "priced": len(prices), "unpriced": len(self.pieces) - len(prices)}

    def to_dict(self) -> dict:
        return {"score": round(self.score, 4), "pieces": [p.to_dict() for p in self.pieces],
                "total": self.total(), "reasons": [r.to_dict() for r in self.reasons], "missing": self.missing,
                "empty": [{"slot": slot, "reason": why} for slot, why in self.empty.items()]}


@dataclass
class OutfitResult:
    context: OutfitContext
    outfits: list[Outfit]
    timing_ms: dict[str, float] = field(default_factory=dict)
    profile: "AppliedProfile | None" = None
    budget: float | None = None
    empty: dict[str, str] = field(default_factory=dict)   # slot -> why no product at all may fill it

    def to_dict(self) -> dict:
        return {"anchor": self.context.to_dict(), "outfits": [o.to_dict() for o in self.outfits],
                "budget": self.budget, "empty": [{"slot": slot, "reason": why} for slot, why in self.empty.items()],
                "profile": self.profile.to_dict() if self.profile else None,
                "timing_ms": {k: round(v, 2) for k, v in self.timing_ms.items()}}


@dataclass
class _Pool:
    """The candidates of one request across all slots; pool index 0 is the anchor."""

    positions: list[int]                 # product position per pool index (anchor: -1)
    options: list[list[int]]             # pool indices per slot, best first
    scores: PoolScores
    compatible: np.ndarray               # pieces that may be worn together
    boosts: list[dict[str, float]]       # profile boosts per pool index, by rule text
    prices: np.ndarray                   # per pool index; 0 where a product has no price (never counted)
    empty: dict[str, str] = field(default_factory=dict)   # slot -> why it has no candidate at all
    budget: float | None = None          # the whole look's
    rest: list[float] = field(default_factory=list)   # per depth: the least the required slots from it cost

    def affordable(self, depth: int, state: tuple, choice: int) -> bool:
        """Whether ``choice`` at ``depth`` leaves enough of the look's budget for the required slots after it."""
        if self.budget is None:
            return True
        spent = sum(self.prices[i] for i in state if i is not None) + self.prices[choice]
        return spent + self.rest[depth + 1] <= self.budget + 1e-9


@dataclass
class _Limits:
    """The profile and the look's budget as this request applies them to candidate pieces."""

    applied: "AppliedProfile | None"
    # (words for what a rule leaves out, per position: left out by it), in the order they are applied
    rules: list[tuple[str, np.ndarray]] = field(default_factory=list)
    budget: float | None = None          # the whole look's

    @classmethod
    def of(cls, index: Index, applied: "AppliedProfile | None", budget: float | None = None) -> "_Limits":
        def mask(ids) -> np.ndarray:
            out = np.zeros(len(index), dtype=bool)
            out[[p for p in (index.position(pid) for pid in ids) if p is not None]] = True
            return out

        rules: list[tuple[str, np.ndarray]] = []
        if applied is not None:
            profile = applied.profile
            words = {"budget": f"over your profile budget {profile.budget:g}" if profile.budget is not None else
                     "over your profile budget", "size": f"not in your size {profile.size}",
                     "avoid": "left out by your profile's avoid"}
            rules += [(words.get(rule, f"left out by your profile's {rule}"), mask(ids))
                      for rule, ids in applied.excluded_by.items() if ids]
            unnamed = applied.exclude_ids.difference(*applied.excluded_by.values())
            if unnamed:
                rules.append(("left out by your profile", mask(unnamed)))
        if budget is not None:
            # From the price column (NaN where unpriced, never over): no product row is read.
            with np.errstate(invalid="ignore"):
                over = np.asarray(index.columns.column("price")) > budget
            rules.append((f"over the look's budget {budget:g}", over))
        return cls(applied, rules, budget)

    def boosts(self, product: Product) -> dict[str, float]:
        """Profile boosts by rule text ("profile: prefers linen"); empty without preferences."""
        if self.applied is None or self.applied.boost is None:
            return {}
        return self.applied.boost(product)


class OutfitComposer:
    """Holds an index seen through the slot definition; composes outfits for many anchors."""

    def __init__(self, index: Index, encoder: "Encoder | None" = None, *,
                 definition: SlotDefinition | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.definition = definition or load_definition()
        self.wardrobe = Wardrobe.build(index, self.definition)
        self._occasion: dict[str, tuple[np.ndarray, float, float]] = {}

    # -- the anchor -------------------------------------------------------------------------------
    def context(self, anchor: Anchor, occasion: str | None = None) -> OutfitContext:
        roles = self.wardrobe.roles
        values = {a: g.value for a, g in anchor.attributes.items() if g.confidence >= MIN_CONFIDENCE}
        if roles.category and roles.category in anchor.attributes:   # the category is needed even if unsure
            values[roles.category] = anchor.attributes[roles.category].value
        traits = traits_of(values, roles, self.definition)
        if traits.group is None:
            what = f"a '{traits.category}'" if traits.category else "an anchor of unknown category"
            raise UsageError(f"cannot build an outfit around {what}: it is in no garment group of the "
                             f"slot definition ({self.definition.source})",
                             hint="add its category to a group in the slot definition (--slots FILE)")
        slots = self.definition.slots_for(traits.group)
        if not slots:
            raise UsageError(f"the slot definition lists no slots for the '{traits.group}' group")
        notes = []
        table = self.definition.tables["occasion"]
        if occasion and occasion.strip():
            # The same occasion vocabulary as refine and chat, onto this catalog's own usage values.
            wanted, source = table.canonical(read_occasion(occasion, self.index.vocabulary)), "requested"
            if not table.known(wanted):
                notes.append(f"occasion '{wanted}' is not in the fit table: only exact usage matches count"
                             + (", plus image-text similarity" if self.encoder else ""))
        elif traits.usage:
            wanted, source = traits.usage, "anchor"
        else:
            wanted, source = None, "none"
        return OutfitContext(anchor, traits, slots, wanted, source, notes)

    # -- occasion prompt --------------------------------------------------------------------------
    def _occasion_prompt(self, occasion: str | None) -> tuple[np.ndarray, float, float] | None:
        """(unit text vector, mean, spread of its similarity to catalog images) for the occasion."""
        if self.encoder is None or not occasion:
            return None
        if occasion not in self._occasion:
            texts = [t.format(o=occasion) for t in OCCASION_PROMPTS]
            vec = self.encoder.encode_texts(texts).mean(axis=0)
            vec = (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)
            sims = self.index.scores(vec) if len(self.index) else np.zeros(1)
            self._occasion[occasion] = (vec, float(sims.mean()), max(float(sims.std()), 1e-3))
        return self._occasion[occasion]

    # -- candidates -------------------------------------------------------------------------------
    def _slot_candidates(self, slot: Slot, ctx: OutfitContext, occ: tuple[np.ndarray, float, float] | None,
                         include_out_of_stock: bool, weights: dict[str, float],
                         limits: _Limits) -> tuple[np.ndarray, np.ndarray, np.ndarray | None,
                                                   list[dict[str, float]], str | None]:
        """(positions, consistency fit, occasion agreement, profile boosts, why there are none) of a slot's
        best candidates."""
        w = self.wardrobe
        pos, empty_because = self._eligible(slot, ctx, include_out_of_stock, limits)
        wanted = ctx.wanted()
        fits = [w.fit_vector(trait, wanted[trait], pos) for trait in ("gender", "occasion", "season")]
        fit = np.mean(fits, axis=0) if len(pos) else np.zeros(0)
        if not len(pos):
            return pos, fit, None, [], empty_because
        vecs = self.index.image_vectors[pos]
        unary = weights["consistency"] * fit
        unary += weights["colour"] * w.harmony_vector(ctx.traits.color, pos)
        unary += weights["style"] * w.style_score(vecs @ ctx.anchor.vector)
        occ_score = None
        if occ is not None:
            vec, mean, std = occ
            occ_score = 1.0 / (1.0 + np.exp(-np.clip((vecs @ vec - mean) / std, -30, 30)))
            unary += weights["occasion"] * occ_score
        boosts = [limits.boosts(self.index.products[int(p)]) for p in pos]
        if any(boosts):
            unary += np.array([sum(b.values()) for b in boosts])
        order = np.lexsort((pos, -unary))[:CANDIDATES_PER_SLOT]   # ties: catalog order, deterministic
        return (pos[order], fit[order], (occ_score[order] if occ_score is not None else None),
                [boosts[i] for i in order], None)

    def _eligible(self, slot: Slot, ctx: OutfitContext, include_out_of_stock: bool,
                  limits: _Limits) -> tuple[np.ndarray, str | None]:
        """The products a slot may use, and, when there are none, the rule that removed the last ones.

        The rules run in order (stock, each profile rule, the look's budget, the anchor itself, gender,
        occasion, season fit); the first one that leaves nothing is the one named, with how many it removed.
        """
        w = self.wardrobe
        pos = w.groups.get(slot.group, np.zeros(0, dtype=np.int64))
        if not len(pos):
            return pos, f"the catalog has no {slot.group} products"
        wanted = ctx.wanted()
        own = self.index.position(ctx.anchor.catalog_id) if ctx.anchor.catalog_id else None
        steps: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = []
        if not include_out_of_stock:
            steps.append(("out of stock", lambda p: w.in_stock[p]))
        steps += [(words, lambda p, m=mask: ~m[p]) for words, mask in limits.rules]
        if own is not None:
            steps.append(("the anchor itself", lambda p: p != own))
        for trait in ("gender", "occasion", "season"):
            steps.append((f"not for {wanted[trait]}" if wanted[trait] else f"of a {trait} that does not fit",
                          lambda p, t=trait: w.fit_vector(t, wanted[t], p) > 0))
        for words, keep in steps:
            kept = pos[keep(pos)]
            if not len(kept):
                return kept, (f"the one remaining {slot.group} product is {words}" if len(pos) == 1 else
                              f"all {len(pos)} remaining {slot.group} products are {words}")
            pos = kept
        return pos, None

    def _pool(self, ctx: OutfitContext, include_out_of_stock: bool, limits: _Limits) -> _Pool:
        w = self.wardrobe
        occ = self._occasion_prompt(ctx.occasion)
        weights = cue_weights(occ is not None)
        positions, fits, occs, options = [-1], [1.0], [0.5], []
        boosts: list[dict[str, float]] = [{}]
        empty: dict[str, str] = {}
        for slot in ctx.slots:
            pos, fit, occ_score, slot_boosts, why = self._slot_candidates(slot, ctx, occ, include_out_of_stock,
                                                                          weights, limits)
            if why:
                empty[slot.name] = why
            options.append(list(range(len(positions), len(positions) + len(pos))))
            positions += [int(p) for p in pos]
            fits += list(fit)
            occs += list(occ_score) if occ_score is not None else [0.5] * len(pos)
            boosts += slot_boosts
        size = len(positions)
        vecs = np.vstack([ctx.anchor.vector[None, :]] + ([self.index.image_vectors[positions[1:]]] if size > 1 else []))
        style = np.asarray(w.style_score(vecs @ vecs.T))
        colors = [ctx.traits.color] + [w.traits[p].color for p in positions[1:]]
        names = [ctx.traits.color.name if ctx.traits.color else (ctx.traits.color_name or "?")]
        names += [w.traits[p].color.name if w.traits[p].color else (w.traits[p].color_name or "?")
                  for p in positions[1:]]
        harm = np.ones((size, size))
        compatible = np.ones((size, size), dtype=bool)
        season = self.definition.tables["season"]
        seasons_clash: dict[tuple[str, str], bool] = {}
        for i, j in combinations(range(size), 2):
            harm[i, j] = harm[j, i] = harmony(colors[i], colors[j]).score
            if i == 0:
                continue
            a, b = w.traits[positions[i]], w.traits[positions[j]]
            # Pieces must agree with each other too, which matters when the anchor is unisex or unknown.
            clash = bool(a.gender and b.gender and a.gender != b.gender and "unisex" not in (a.gender, b.gender))
            if not clash and a.season and b.season:
                key = (a.season, b.season)
                if key not in seasons_clash:
                    seasons_clash[key] = season.score(a.season, b.season) == 0
                clash = seasons_clash[key]
            compatible[i, j] = compatible[j, i] = not clash
        bonus = [sum(b.values()) for b in boosts] if limits.applied is not None else None
        scores = PoolScores(np.array(fits), np.array(occs) if occ else None, harm, style, colors, names, bonus)
        prices = np.array([0.0] + [self.index.products[p].price or 0.0 for p in positions[1:]])
        rest = [0.0] * (len(ctx.slots) + 1)
        for depth in range(len(ctx.slots) - 1, -1, -1):
            cheapest = min((prices[i] for i in options[depth]), default=0.0)
            rest[depth] = rest[depth + 1] + (0.0 if ctx.slots[depth].optional else cheapest)
        return _Pool(positions, options, scores, compatible, boosts, prices, empty, limits.budget, rest)

    # -- search -----------------------------------------------------------------------------------
    def _beam(self, pool: _Pool, scorer: OutfitScorer, slots: list[Slot], used: Counter,
              seen: set[frozenset]) -> tuple[int | None, ...] | None:
        beams: list[tuple[tuple[int | None, ...], float]] = [((), 0.0)]
        for depth, slot in enumerate(slots):
            grown = []
            for state, _ in beams:
                chosen = [i for i in state if i is not None]
                fitting = [i for i in pool.options[depth] if all(pool.compatible[i, j] for j in chosen)
                           and pool.affordable(depth, state, i)]
                choices: list[int | None] = list(fitting)
                if slot.optional or not fitting:
                    choices.append(None)
                for choice in choices:
                    new = state + (choice,)
                    grown.append((new, self._objective(new, slots, scorer, pool, used)))
            grown.sort(key=lambda s: (-s[1], [-1 if i is None else i for i in s[0]]))
            beams = grown[:BEAM_WIDTH]
        for state, _ in beams:
            key = frozenset(pool.positions[i] for i in state if i is not None)
            if key and key not in seen:
                return state
        return None

    @staticmethod
    def _objective(state, slots, scorer: OutfitScorer, pool: _Pool, used: Counter) -> float:
        pieces = [i for i in state if i is not None]
        required = sum(1 for i, s in zip(state, slots) if i is not None and not s.optional)
        optional = sum(1 for i, s in zip(state, slots) if i is not None and s.optional)
        reuse = sum(used[pool.positions[i]] for i in pieces)
        return scorer.score(pieces, required, optional) - DIVERSITY_PENALTY * reuse

    def _outfit(self, state, ctx: OutfitContext, pool: _Pool, scorer: OutfitScorer) -> Outfit:
        pieces, optional_names, missing = [], [], []
        empty: dict[str, str] = {}
        required = 0
        for depth, (i, slot) in enumerate(zip(state, ctx.slots)):
            if i is None:
                if not slot.optional:
                    missing.append(slot.name)
                    empty[slot.name] = self._why_empty(depth, slot, state, pool)
                continue
            if slot.optional:
                optional_names.append(slot.name)
            else:
                required += 1
            pos = pool.positions[i]
            pieces.append(OutfitPiece(slot.name, self.index.products[pos], self._why(i, pos, ctx, pool),
                                      slot.optional))
        chosen = [i for i in state if i is not None]
        breakdown = scorer.explain(chosen, required, optional_names, ctx.wanted(), missing)
        return Outfit(pieces, breakdown.score, breakdown.reasons, missing, empty)

    @staticmethod
    def _why_empty(depth: int, slot: Slot, state: tuple, pool: _Pool) -> str:
        """Why a required slot stayed empty: no candidate at all (and the rule that removed the last), or
        none that goes with the pieces chosen before it, or none the look's budget still allows."""
        if slot.name in pool.empty:
            return pool.empty[slot.name]
        before = [i for i in state[:depth] if i is not None]
        wearable = [i for i in pool.options[depth] if all(pool.compatible[i, j] for j in before)]
        if not wearable:
            return (f"all {len(pool.options[depth])} candidates clash with the other pieces (gender or season)")
        spent = sum(pool.prices[i] for i in before)
        return (f"none of the {len(wearable)} candidates fits the look's budget {pool.budget:g} "
                f"({spent:.2f} already spent, the cheapest costs {min(pool.prices[i] for i in wearable):.2f})")

    def _why(self, i: int, pos: int, ctx: OutfitContext, pool: _Pool) -> list[str]:
        t = self.wardrobe.traits[pos]
        wanted = ctx.wanted()
        out = []
        for trait, value in (("gender", t.gender), ("occasion", t.usage), ("season", t.season)):
            if value is None:
                continue
            fit = self.definition.tables[trait].score(wanted[trait], value)
            out.append(value if fit >= 1 or not wanted[trait] else f"{value} (fit {fit:.1f} for {wanted[trait]})")
        out.append(harmony(ctx.traits.color, t.color).detail if ctx.traits.color and t.color
                   else f"colour {t.color_name or 'unknown'}")
        out.append(f"style {pool.scores.style[0, i]:.2f}")
        if pool.scores.occasion is not None:
            out.append(f"{ctx.occasion} prompt {pool.scores.occasion[i]:.2f}")
        out += [f"{rule} (+{value:.2f})" for rule, value in pool.boosts[i].items()]
        return out

    def compose(self, anchor: Anchor, *, occasion: str | None = None, n: int = 3,
                include_out_of_stock: bool = False, profile: "AppliedProfile | None" = None,
                budget: float | None = None) -> OutfitResult:
        """Up to ``n`` distinct outfits, best first; ``profile`` from :func:`fashrec.profile.profile_limits`.

        ``budget`` caps what the added pieces of one look cost together (pieces without a price count 0,
        like the profile's per-piece budget keeps them); the profile's budget still caps each piece.
        """
        if not 1 <= n <= MAX_OUTFITS:
            raise UsageError(f"the number of outfits must be between 1 and {MAX_OUTFITS}, got {n}")
        if budget is not None and not (math.isfinite(budget) and budget > 0):
            raise UsageError(f"the look's budget must be a positive number, got {budget:g}")
        timing: dict[str, float] = {}
        t = time.perf_counter()
        ctx = self.context(anchor, occasion)
        pool = self._pool(ctx, include_out_of_stock, _Limits.of(self.index, profile, budget))
        timing["candidates"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        scorer = OutfitScorer(pool.scores, sum(1 for s in ctx.slots if not s.optional))
        used: Counter = Counter()
        seen: set[frozenset] = set()
        outfits = []
        for _ in range(n):
            state = self._beam(pool, scorer, ctx.slots, used, seen)
            if state is None:
                break
            chosen = [pool.positions[i] for i in state if i is not None]
            seen.add(frozenset(chosen))
            used.update(chosen)
            outfits.append(self._outfit(state, ctx, pool, scorer))
        if outfits and len(outfits) < n:
            ctx.notes.append(f"only {plural(len(outfits), 'distinct outfit')} could be built from the catalog")
        outfits.sort(key=lambda o: -o.score)
        timing["search"] = (time.perf_counter() - t) * 1000
        return OutfitResult(ctx, outfits, timing, profile, budget, dict(pool.empty))


def compose_outfits(index: Index, anchor: Anchor, *, occasion: str | None = None, n: int = 3,
                    encoder: "Encoder | None" = None, include_out_of_stock: bool = False,
                    definition: SlotDefinition | None = None,
                    profile: "AppliedProfile | None" = None, budget: float | None = None) -> list[Outfit]:
    """Up to ``n`` distinct outfits that complete the look of ``anchor`` (best first).

    For many anchors on one index, keep an :class:`OutfitComposer` instead: it prepares the index once.
    """
    composer = OutfitComposer(index, encoder, definition=definition)
    return composer.compose(anchor, occasion=occasion, n=n, include_out_of_stock=include_out_of_stock,
                            profile=profile, budget=budget).outfits


__all__ = ["Outfit", "OutfitComposer", "OutfitContext", "OutfitPiece", "OutfitResult", "compose_outfits"]
