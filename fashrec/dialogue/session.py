"""Dialogue layer: a conversation, turns that each refine the one before, recorded so it survives restarts.

The state of a session is entirely its last turn: which anchor it searched from, the accumulated plan,
and the results it showed. That makes undo exact (forget the last turn) and lets a later process carry on
where an earlier one stopped. :class:`Dialogue` runs turns against a loaded :class:`Refiner`.

Turn kinds:

- ``start``: a new anchor (an image, or a catalog product) and a first request; earlier turns are discarded.
- ``refine``: new words, read with the accumulated plan as ``previous`` and merged into it.
- ``pick``: result N of the last turn becomes the anchor ("more like the third one"); constraints stay.
- ``image``: another picture becomes the anchor; constraints stay.
- ``correct``: what was read from the anchor is corrected ("it's a dress", ``/anchor category=dresses``)
  and the last request is answered again; the correction stays with that anchor (it is stored with
  every turn that searches from it, so a resumed session keeps it).
- ``relax``: one of the ways forward a short answer offered is taken: its constraints are released.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

from fashrec.ammr import (
    Anchor,
    Personalization,
    RefineOptions,
    Refiner,
    RefineResult,
    Relaxation,
    StandingRules,
    anchor_from_product,
    garment_category,
    keep_corrected,
    wish_attribute,
)
from fashrec.ammr.corrections import check_overrides, correct_anchor, normalized_overrides
from fashrec.ammr.ways import take_option
from fashrec.dialogue.records import AnchorRef, Session, Turn, now
from fashrec.dialogue.store import SessionStore
from fashrec.errors import NotFoundError, SessionError, UsageError
from fashrec.planner import Plan
from fashrec.planner.merge import Change, merge_plans

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10}
# "it's a dress", "no, it is a men's shirt", "actually this is a kurta": what the anchor is, not a wish.
_CORRECTION = re.compile(r"^\s*(?:no[,.!]?\s+|actually,?\s+)?(?:it'?s|it is|this is|that'?s|that is)\s+"
                         r"(?:an?\s+|the\s+)?(.+?)[\s.!]*$", re.IGNORECASE)
_PICK = re.compile(r"^\s*(?:show me\s+)?(?:more like|similar to|something like)\s+(?:the\s+)?(?:number\s+|no\.?\s*|#)?"
                   r"(\d+|[a-z]+)(?:st|nd|rd|th)?(?:\s+one)?\b[\s,.;!]*(.*)$", re.IGNORECASE)


def correction_words(text: str) -> str | None:
    """"it's a dress" -> "dress": the words that may say what the anchor is (None: no such phrase)."""
    match = _CORRECTION.match(text)
    return match.group(1) if match else None


def pick_reference(text: str) -> tuple[int, str] | None:
    """"more like the third one, but in red" -> (3, "but in red"); None when the text picks nothing."""
    match = _PICK.match(text)
    if not match:
        return None
    word = match.group(1).lower()
    rank = int(word) if word.isdigit() else ORDINALS.get(word)
    return (rank, match.group(2).strip()) if rank else None


@dataclass
class TurnOutcome:
    """A finished turn: the record kept in the session plus the full refinement it ran."""

    session: str
    turn: Turn
    result: RefineResult

    @property
    def profile(self) -> Personalization | None:
        return self.result.profile

    def to_dict(self) -> dict:
        data: dict[str, Any] = self.result.to_dict()
        data["session"] = {"name": self.session, "turn": self.turn.number, "action": self.turn.action,
                           "anchor": self.turn.anchor.to_dict(), "request": self.turn.request.to_dict(),
                           "constraints": self.turn.plan.describe(),
                           "changes": [c.to_dict() for c in self.turn.changes]}
        data["profile"] = data.pop("profile")   # after the session, where it has always been
        return data


class Dialogue:
    """Runs the turns of one named session with a loaded refiner, recording each in the store."""

    def __init__(self, refiner: Refiner, store: SessionStore, name: str, *,
                 options: RefineOptions | None = None, profile: StandingRules | None = None,
                 index_path: str | None = None) -> None:
        self.refiner = refiner
        self.store = store
        self.name = name
        self.options = options or RefineOptions()
        self.profile = profile
        self.index_path = index_path
        self._anchors: dict[AnchorRef, Anchor] = {}

    @property
    def session(self) -> Session:
        """Read fresh each time: another process may have added or undone turns meanwhile."""
        return self.store.get(self.name) or Session(self.name, now(), now(), self.index_path)

    # -- turns ------------------------------------------------------------------------------------
    def start(self, image: str | Path, text: str = "", overrides: dict[str, str] | None = None) -> TurnOutcome:
        """Begin the conversation again from ``image`` (earlier turns are discarded); ``overrides``
        correct what is read from it (``{"category": "dresses"}``, checked against the catalog)."""
        ref = self.image_ref(image)
        return self._run("start", ref.corrected(self.checked(overrides)), text, None)

    def start_with_product(self, product_id: str, text: str = "",
                           overrides: dict[str, str] | None = None) -> TurnOutcome:
        """Begin the conversation again from a catalog product (earlier turns are discarded)."""
        if self.refiner.index.position(product_id) is None:
            raise NotFoundError.product(product_id)
        return self._run("start", AnchorRef("product", product_id).corrected(self.checked(overrides)), text, None)

    def say(self, text: str) -> TurnOutcome:
        """Refine the last turn with new words ("more like the third one ..." picks result 3 first; "it's a
        dress" corrects what was read from the anchor and answers again)."""
        last = self._last_turn("say what to change")
        if not text.strip():
            raise UsageError("say what to change, or pick a result to continue from")
        picked = pick_reference(text)
        if picked is not None:
            return self.pick(*picked)
        overrides = self.said_correction(text, last.anchor)
        if overrides:
            return self.correct(overrides, said=text)
        return self._run("refine", last.anchor, text, last.plan)

    def correct(self, overrides: dict[str, str], text: str = "", *, said: str = "") -> TurnOutcome:
        """Correct what was read from the last turn's anchor and answer again: its accumulated request,
        plus ``text`` when given (``said``: the words that made the correction, kept as the turn's text)."""
        last = self._last_turn("correct the anchor")
        overrides = self.checked(overrides)
        if not overrides:
            raise UsageError("say what the anchor is: /anchor category=dresses")
        reading = self.anchor_for(last.anchor).attributes
        changes = [Change("revised", f"anchor {a}={v}", previous=f"anchor {a}={reading[a].value}")
                   if a in reading else Change("added", f"anchor {a}={v}")
                   for a, v in overrides.items() if a not in reading or reading[a].value != v]
        previous = last.plan
        released = [a for a in overrides if a in previous.drop]
        if released:   # an earlier "any category" gave up the misread value: the corrected one holds again
            previous = replace(previous, drop=[a for a in previous.drop if a not in released])
            changes += [Change("removed", f"any {a}") for a in released]
        request = None if text.strip() else Plan(source="session")
        return self._run("correct", last.anchor.corrected(overrides), text or said, previous, changes,
                         request=request)

    def relax(self, relax: Iterable[Relaxation | dict[str, Any]]) -> TurnOutcome:
        """Take a way forward a short answer offered: release each of its constraints (``relax`` as in the
        answer's ``shortfall.options[].relax``; :func:`fashrec.ammr.ways.take_option`, as refine's and
        search's --relax take it)."""
        last = self._last_turn("give something up")
        relax = [r if isinstance(r, Relaxation) else
                 Relaxation(r.get("kind", "stated"), r["check"], r["attribute"], r.get("constraint", ""), r["label"])
                 for r in relax]
        taken = take_option(last.plan, relax, self.refiner.index.vocabulary, self.anchor_for(last.anchor).values(0.5))
        return self._run("relax", last.anchor, taken.text, taken.previous, taken.changes, request=taken.request)

    def pick(self, rank: int, text: str = "", overrides: dict[str, str] | None = None) -> TurnOutcome:
        """Make result ``rank`` (1 = first) of the last turn the new anchor, keeping the constraints.

        Relative wishes ("shorter sleeves", "cheaper") were said about the old anchor and the picked
        result already answers them; measured again from the pick they would ask for ever shorter,
        ever cheaper. So they end here: the attribute they moved is kept from the pick instead
        ("shorter sleeves" -> keep the pick's sleeve), and the turn's changes say so.
        """
        last = self.pickable(rank)
        previous, settled = last.plan, []
        if previous.relative:
            keep, vocabulary = list(previous.keep), self.refiner.index.vocabulary
            # what the wish moved depends on what it was said about ("shorter" on a dress: its length)
            category = garment_category(previous, self.anchor_for(last.anchor).values(0.5), vocabulary.attributes())
            for wish in previous.relative:
                attr = wish_attribute(wish, vocabulary, category)
                if attr and attr not in keep and attr not in previous.set and attr not in previous.drop:
                    keep.append(attr)
                settled.append(Change("revised", f"keep the picked result's {attr}", previous=wish) if attr
                               else Change("removed", f"{wish} (the picked result is the new reference)"))
            previous = replace(previous, relative=[], keep=keep)
        ref = AnchorRef("product", last.result_ids[rank - 1]).corrected(self.checked(overrides))
        return self._run("pick", ref, text, previous, settled)

    def pickable(self, rank: int) -> Turn:
        """The last turn, when it showed a result ``rank`` to pick (else the refusal :meth:`pick` makes): a
        caller that names where the pick came from checks it alone, not the whole turn it starts."""
        last = self._last_turn("pick a result")
        if not 1 <= rank <= len(last.result_ids):
            raise UsageError(f"there is no result {rank} to pick (the last turn showed {len(last.result_ids)})")
        return last

    def more(self, count: int | None = None) -> TurnOutcome:
        """The next page of the last turn's answer: the same anchor and constraints, ``count`` (default k)
        products not shown yet. The turn keeps every result shown so far, so "pick 12" still works."""
        last = self._last_turn("show more")
        shown = list(last.result_ids)
        options = replace(self.options, k=count or self.options.k)
        outcome = self._run("more", last.anchor, last.text, last.plan, exclude_ids=set(shown), shown=shown,
                            options=options)
        outcome.result.query["offset"] = len(shown)
        return outcome

    def new_image(self, image: str | Path, text: str = "") -> TurnOutcome:
        """Continue from another picture, keeping the constraints gathered so far."""
        last = self.session.last
        ref = AnchorRef("image", str(Path(image).expanduser().resolve()))    # a new photo: nothing corrected yet
        return self._run("image" if last else "start", ref, text, last.plan if last else None)

    def undo(self) -> Turn | None:
        """Forget the last turn; the session is back where the turn before left it."""
        return self.store.pop_turn(self.name)

    # -- internals --------------------------------------------------------------------------------
    def _last_turn(self, doing: str) -> Turn:
        last = self.session.last
        if last is None:
            raise SessionError(f"session '{self.name}' has no turns yet: cannot {doing}",
                               hint=f'start it with an image: fashrec refine IMAGE "TEXT" --session {self.name}')
        return last

    def _titles(self, ids: list[str]) -> list[str]:
        products = (self.refiner.index.get(pid) for pid in ids)
        return [p.title or "" if p is not None else "" for p in products]

    def checked(self, overrides: dict[str, str] | None) -> dict[str, str]:
        """Corrections with the catalog's spelling, checked (a typo names the nearest value)."""
        return check_overrides(self.refiner.index, normalized_overrides(overrides))

    def said_correction(self, text: str, ref: AnchorRef) -> dict[str, str]:
        """What "it's a <words>" says the anchor ``ref`` is: attribute values and nothing else, or {} (then
        the line is an ordinary request)."""
        words = correction_words(text)
        if words is None:
            return {}
        plan = self.refiner.plan(words, self.anchor_for(ref))
        if plan.exclude or plan.relative or plan.price_min is not None or plan.price_max is not None or plan.drop \
                or plan.brands or plan.sizes or plan.exclude_brands:
            return {}
        return dict(plan.set)

    @staticmethod
    def image_ref(image: str | Path) -> AnchorRef:
        """The reference a turn keeps of an anchor image (its resolved path)."""
        return AnchorRef("image", str(Path(image).expanduser().resolve()))

    def anchor_for(self, ref: AnchorRef) -> Anchor:
        """The anchor a turn searches from, with the shopper's corrections applied."""
        if ref.overrides:
            return correct_anchor(self.refiner.index, self.anchor_for(ref.bare), dict(ref.overrides))
        if ref not in self._anchors:
            if ref.kind == "image":
                if not Path(ref.value).exists():
                    raise SessionError(f"the session's anchor image is gone: {ref.value}",
                                       hint="continue from a result (--pick N) or start again with an image")
                self._anchors[ref] = self.refiner.anchor_from_image(ref.value)
            else:
                if self.refiner.index.position(ref.value) is None:
                    raise SessionError(f"product '{ref.value}' is not in this index",
                                       hint="use the index the session was started with (--index DIR)")
                self._anchors[ref] = anchor_from_product(self.refiner.index, ref.value)
        return self._anchors[ref]

    def _run(self, action: str, ref: AnchorRef, text: str, previous: Plan | None,
             settled: list[Change] | None = None, *, exclude_ids: set[str] | None = None,
             shown: list[str] | None = None, options: RefineOptions | None = None,
             request: Plan | None = None) -> TurnOutcome:
        """Plan (unless this is a page of the last answer, or ``request`` says what the turn asks),
        refine, record. ``shown``: results a "more" turn already showed; they stay first in its record
        and cannot come again (``exclude_ids``)."""
        anchor = self.anchor_for(ref)
        t = time.perf_counter()
        if action == "more":
            request, plan, changes = Plan(source="session"), previous or Plan(), []
        else:
            if request is None:
                request = self.refiner.plan(text, anchor, previous=previous) if text.strip() else Plan(source="session")
            plan, changes = merge_plans(previous, request)
        plan_ms = (time.perf_counter() - t) * 1000
        changes = list(settled or []) + changes
        options = options or self.options
        options = replace(options, profile=self.profile) if self.profile is not None else options
        # corrections hold for this turn's search; the session records the plan without them, since it
        # does not record the corrections either
        searched = keep_corrected(plan, anchor)
        result = self.refiner.refine(anchor, text, options, plan=searched, previous=previous,
                                     exclude_ids=exclude_ids)
        result.timing_ms["plan"] = plan_ms
        if result.plan is not searched:  # the loop re-planned: record what was actually searched with
            plan = result.plan
        if action == "more" and not result.ids:
            raise UsageError(f"no more products: the {len(shown or [])} shown are all that satisfy the constraints",
                             hint="say what to change instead")
        turn = Turn(0, action, text, ref, request, plan, changes, (shown or []) + result.ids, result.stop_reason,
                    result_titles=[*(self._titles(shown or [])), *(r.candidate.product.title or "" for r in
                                                                    result.results)])
        turn.number = self.store.append_turn(self.name, turn, index=self.index_path, restart=action == "start")
        return TurnOutcome(self.name, turn, result)
