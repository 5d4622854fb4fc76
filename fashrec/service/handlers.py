"""Service layer: one request in, its JSON-ready answer out.

The command line (one command, or each ``--batch`` line) and the server (each HTTP body) answer through
these functions, so the same request gives the same document either way. Images arrive as paths the
caller vouches for: the command line takes any file, the server only its uploads and allowed folders;
``label`` is the name the answer shows for such an image (an upload is reported by its own file name,
never by where the server keeps it).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from fashrec.ammr import (
    Anchor,
    Option,
    RefineOptions,
    Refiner,
    RefineResult,
    anchor_from_product,
    keep_corrected,
)
from fashrec.ammr.corrections import correct_anchor as checked_correction
from fashrec.ammr.corrections import normalized_overrides
from fashrec.ammr.ways import offered_option, take_option
from fashrec.encoder.runtime import planned_runtime
from fashrec.errors import NotFoundError, RequestError, SessionError, UsageError
from fashrec.index import Index
from fashrec.index.filters import Filter, parse_where, vet_where
from fashrec.planner import Plan, PlanContext, Planner
from fashrec.planner.merge import merge_plans
from fashrec.profile import Profile, profile_limits
from fashrec.search import Searcher, SearchResult, check_sort, paged
from fashrec.service.requests import (
    OutfitRequest,
    PersonalFields,
    PlanRequest,
    RefineRequest,
    SearchRequest,
    SimilarRequest,
)
from fashrec.service.runtime import anchor_for, check_strategy, load_profile_unless

if TYPE_CHECKING:   # only the outfit answer names it: refine, search and similar never load the outfit stack
    from fashrec.dialogue import SessionStore
    from fashrec.outfit import OutfitComposer


@dataclass(frozen=True)
class Defaults:
    """What a request leaves out: the command's options (-k, --strategy, --max-steps)."""

    k: int = 10
    strategy: str = "ammr"
    max_steps: int = 5
    ask_below: float | None = None   # --ask-below (None: ask only about what is not kept)
    offset: int = 0                  # --offset: the page
    sort: str = "relevance"          # --sort
    strict: bool = False             # --strict: a short answer lists no near misses


@contextmanager
def _field(name: str) -> Iterator[None]:
    """A check below that refuses a value the request gave as ``name`` (an anchor correction, a way
    forward's number) without knowing it came from a request: its refusal names that field, as
    every refused field is named (a --batch line's error and a body's 400 carry ``field``)."""
    try:
        yield
    except RequestError:
        raise   # already names its field
    except UsageError as err:
        raise RequestError.blaming(name, err) from None


def _product(index: Index, product_id: str) -> Any:
    """The catalog product a request's ``id`` names."""
    product = index.get(product_id)
    if product is None:   # not a malformed request: a missing thing, so a server answers 404, not 400
        raise NotFoundError.product(product_id)
    return product


def profile_for(request: PersonalFields, *, disabled: bool = False) -> Profile | None:
    """The request's own profile, else the saved one; None when switched off or empty."""
    if disabled or request.no_profile:
        return None
    if request.profile is not None:
        profile = Profile.from_dict(asdict(request.profile))
        return None if profile.is_empty() else profile
    return load_profile_unless(False)


# --- search and similar ------------------------------------------------------------------------

def where_exprs(where: Any) -> list[str]:
    """``{"category": "shoes"}``, ``{"color": ["red", "blue"]}`` or ``["color!=black"]`` as --where lines."""
    if not where:
        return []
    if isinstance(where, dict):
        return [f"{a}={v}" for a, vals in where.items() for v in (vals if isinstance(vals, list) else [vals])]
    return list(where)


def _where(index: Index, request_where: Any, extra: list[str] | None) -> tuple[Filter, list[str]]:
    """The request's and the command line's --where as one filter, and a note for each attribute or value
    the catalog does not have (a typo is said, never a silent empty answer)."""
    asked = where_exprs(request_where)
    parse_where(asked, as_field="where")   # a line's own conditions are refused as its field, not as --where
    exprs = asked + list(extra or [])
    return vet_where(parse_where(exprs), index.vocabulary) if exprs else (Filter(), [])


def _limits(index: Index, profile: Profile | None, plan: Plan | None = None) -> tuple[Filter, Any, list[dict]]:
    """The profile as (filter of what it leaves out, ranking boost, what each applied rule did); what the
    query asked for (``plan``) wins over the profile, as in refine."""
    if profile is None:
        return Filter(), None, []
    applied = profile_limits(profile, index, plan=plan)
    return (Filter(exclude_ids=set(applied.exclude_ids)), applied.boost,
            [e.to_dict() for e in applied.effects if e.applied])


def _page(request: SearchRequest | SimilarRequest | RefineRequest, defaults: Defaults) -> dict[str, Any]:
    """-k, --offset and --sort: the request's, else the command's."""
    return {"k": request.k or defaults.k, "offset": defaults.offset if request.offset is None else request.offset,
            "sort": request.sort or defaults.sort}


def search_answer(searcher: Searcher, request: SearchRequest, *, defaults: Defaults = Defaults(),
                  where: list[str] | None = None, profile_off: bool = False,
                  image: Path | None = None) -> dict[str, Any]:
    """``fashrec search --json``: text -> items. ``where`` adds the command line's --where lines;
    ``image`` (a file the caller vouches for) makes the ranking also follow a photo."""
    profile = profile_for(request, disabled=profile_off)
    plan = searcher.understand(request.text) if profile is not None else None
    limits, boost, effects = _limits(searcher.index, profile, plan)
    flt, notes = _where(searcher.index, request.where, where)
    strict = defaults.strict if request.strict is None else request.strict

    def answer(understood: Plan | None, limits: Filter, boost: Any) -> SearchResult:
        return searcher.text(request.text, flt=flt.merged(limits), boost=boost, image=image, understood=understood,
                             alternatives=not strict, **_page(request, defaults))

    result, taken = answer(plan, limits, boost), []
    for number in request.relax:   # --relax N: way forward N taken, as refine (and chat) take it
        with _field("relax"):
            option = offered_option(result.shortfall, number, answer=_answer_words(taken))
        step = take_option(result.plan or Plan(), option.relax, searcher.index.vocabulary, {},
                           source=result.plan.source if result.plan else "rules")
        plan = merge_plans(step.previous, step.request)[0]
        limits, boost, effects = _limits(searcher.index, profile, plan)
        result = answer(plan, limits, boost)
        taken.append(option)
    data = with_ways_forward(result.to_dict(), taken)
    if notes:
        data["notes"] = notes
    if effects:
        data["profile"] = effects
    return data


def similar_answer(searcher: Searcher, request: SimilarRequest, *, defaults: Defaults = Defaults(),
                   image: Path | None = None, label: str | None = None, where: list[str] | None = None,
                   profile_off: bool = False) -> dict[str, Any]:
    """``fashrec similar --json``: image -> items (the image, or a catalog product's photo)."""
    image, label = _one_image(searcher.index, request, image, label)
    limits, boost, effects = _limits(searcher.index, profile_for(request, disabled=profile_off))
    flt, notes = _where(searcher.index, request.where, where)
    flt = flt.merged(limits)
    if request.id is not None:   # "more like this product": not the product itself
        flt = flt.merged(Filter(exclude_ids={request.id}))
    data = searcher.image(image, flt=flt, boost=boost, **_page(request, defaults)).to_dict()
    data["query"]["image"] = label or str(image)
    if notes:
        data["notes"] = notes
    if effects:
        data["profile"] = effects
    return data


def _one_image(index: Index, request: SimilarRequest, image: Path | None, label: str | None) -> tuple[Path, str | None]:
    if request.id is not None:
        if image is not None:
            raise RequestError("give an 'image' or an 'id', not both", field="id")
        return Path(_product(index, request.id).image_path), None
    if image is None:
        raise RequestError("the request needs an 'image' (or an 'id')", field="image")
    return image, label


# --- the anchor --------------------------------------------------------------------------------

def _anchor(refiner: Refiner, request: RefineRequest, image: Path | None, label: str | None) -> Anchor:
    if request.id is not None:
        if image is not None:
            raise RequestError("give an anchor 'image' or an 'id', not both", field="id")
        _product(refiner.index, request.id)
        anchor = anchor_from_product(refiner.index, request.id)
    elif image is not None:
        anchor = refiner.anchor_from_image(image)
        if label is not None:
            anchor = replace(anchor, image=label)
    else:
        raise RequestError("the request needs an anchor: an 'image' or a catalog product 'id'", field="image")
    with _field("anchor"):
        return checked_correction(refiner.index, anchor, request.anchor)


# --- refine ------------------------------------------------------------------------------------

def refine_answer(refiner: Refiner, request: RefineRequest, *, defaults: Defaults = Defaults(),
                  image: Path | None = None, label: str | None = None, profile_off: bool = False,
                  store: SessionStore | None = None, like: tuple[Path, ...] = (),
                  unlike: tuple[Path, ...] = ()) -> dict[str, Any]:
    """``fashrec refine --json``: one refinement, or one turn of a session when the request names one.

    ``like`` / ``unlike``: more photos the anchor should look like, and photos it should not (files the
    caller vouches for, blended into the anchor image's direction: :func:`fashrec.ammr.blend_anchors`)."""
    page = _page(request, defaults)
    strategy = (check_strategy(defaults.strategy) if request.strategy is None
                else check_strategy(request.strategy, field="strategy"))
    options = RefineOptions(k=page["k"], strategy=strategy,
                            max_steps=request.max_steps or defaults.max_steps,
                            ask_below=defaults.ask_below if request.ask_below is None else request.ask_below,
                            alternatives=not (defaults.strict if request.strict is None else request.strict))
    profile = profile_for(request, disabled=profile_off)
    if request.session is not None or request.pick is not None:
        if page["offset"] or page["sort"] != "relevance":   # the command line says --offset / --sort itself
            name = "offset" if page["offset"] else "sort"
            raise RequestError.of_field(name, "pages a single refinement; in a conversation, ask for more",
                                        page[name], hint='fashrec chat --session NAME, then "more"')
        if like or unlike:
            raise UsageError("--like and --unlike shape one refinement's anchor, not a conversation's")
        return session_answer(refiner, request, options, profile, image=image, label=label, store=store)
    if (like or unlike) and image is None:
        raise UsageError("--like and --unlike go with an anchor image")
    shown: set[str] = set()   # the liked photos' own products, when they are catalog products
    if like or unlike:
        anchor, shown = refiner.anchor_from_images([image, *like], list(unlike))
        with _field("anchor"):
            anchor = checked_correction(refiner.index, anchor, request.anchor)
    else:
        anchor = _anchor(refiner, request, image, label)
    # A page past the first asks the loop for offset + k products and shows the last k.
    options = replace(options, profile=profile, k=page["k"] + page["offset"])
    page = {**page, **({"like": [str(p) for p in like]} if like else {}),
            **({"unlike": [str(p) for p in unlike]} if unlike else {})}
    if not request.anchor:
        result = refiner.refine(anchor, request.text, options, exclude_ids=shown or None)
    else:
        started = time.perf_counter()   # planned here, to keep what the shopper corrected (as a session does)
        plan = keep_corrected(refiner.plan(request.text, anchor), anchor)
        plan_ms = (time.perf_counter() - started) * 1000
        result = refiner.refine(anchor, request.text, options, plan=plan, exclude_ids=shown or None)
        result.timing_ms["plan"] = plan_ms
    result, taken = _relaxed(refiner, anchor, options, result, request.relax, shown or None)
    data = with_ways_forward(result.to_dict(), taken)
    data["query"]["text"] = request.text
    return _paged(data, page)


def _relaxed(refiner: Refiner, anchor: Anchor, options: RefineOptions, result: RefineResult, numbers: list[int],
             exclude_ids: set[str] | None) -> tuple[RefineResult, list[Option]]:
    """``--relax N [--relax M]``: way forward N of the answer taken, then M of that answer, each as chat's
    "N" takes it (:meth:`fashrec.dialogue.Dialogue.relax`: the same plan, the same words)."""
    taken: list[Option] = []
    for number in numbers:
        with _field("relax"):
            option = offered_option(result.shortfall, number, answer=_answer_words(taken))
        step = take_option(result.plan, option.relax, refiner.index.vocabulary, anchor.values(0.5))
        plan = keep_corrected(merge_plans(step.previous, step.request)[0], anchor)
        result = refiner.refine(anchor, step.text, options, plan=plan, previous=step.previous, exclude_ids=exclude_ids)
        taken.append(option)
    return result, taken


def _answer_words(taken: list[Option]) -> str:
    return "the answer" if not taken else f"the answer after --relax {' --relax '.join(str(o.number) for o in taken)}"


def with_ways_forward(data: dict[str, Any], taken: list[Option]) -> dict[str, Any]:
    """The ways forward taken (``query.relaxed``), and on each option still offered what takes it:
    ``take.relax``, the numbers to pass (--relax N, or a request's "relax"); only a way that adds
    something can be taken."""
    if taken:
        data["query"]["relaxed"] = [{"number": o.number, "drop": [r.constraint for r in o.relax],
                                     "message": o.message} for o in taken]
    before = [o.number for o in taken]
    for option in (data.get("shortfall") or {}).get("options") or []:
        if option["useful"]:
            option["take"] = {"relax": [*before, option["number"]]}
    return data


def _paged(data: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """A refinement's results as one page in ``sort`` order, full matches before relaxed ones."""
    data["results"] = paged(data["results"], page["k"], page["offset"], check_sort(page["sort"]),
                            price=lambda r: r.get("price"), tier=lambda r: r.get("tier") or 1)
    data["query"].update(page)
    return data


def session_answer(refiner: Refiner, request: RefineRequest, options: RefineOptions, profile: Profile | None, *,
                   image: Path | None = None, label: str | None = None,
                   store: SessionStore | None = None) -> dict[str, Any]:
    """One turn of a named conversation: an anchor (re)starts it, text alone refines the last turn,
    ``pick`` continues from one of its results."""
    # deferred: the dialogue stack (its records, the SQLite store) is for conversations only; a single
    # refinement, search or similar never imports it (tests/cli/test_startup.py).
    from fashrec.dialogue import Dialogue, SessionStore
    from fashrec.dialogue.store import check_name

    # The command line checks its --session, --pick and --relax in its own words before it comes here
    # (cli/session_cmd.py, cli/refine_cmd.py): these are a request's fields, refused as fields.
    if request.session is None:
        raise RequestError.of_field("pick", "continues a conversation: add a 'session' name", request.pick)
    if request.relax:
        raise RequestError.of_field("relax", "takes a way forward of one refinement; in a conversation, type "
                                    "the option's number", request.relax,
                                    hint="fashrec chat --session NAME, then the number")
    try:
        name = check_name(request.session)
    except UsageError as err:
        raise RequestError.of_field("session", "is not a session name", request.session, hint=err.hint) from None
    if request.pick is not None and (image is not None or request.id is not None):
        raise RequestError("'pick' and an anchor both choose the anchor: give one of them", field="pick")
    if store is None:   # one connection per request: a server answers on many threads
        with SessionStore() as own:
            return session_answer(refiner, request, options, profile, image=image, label=label, store=own)
    dialogue = Dialogue(refiner, store, name, options=options, profile=profile,
                        index_path=str(refiner.index.folder))
    # checked before the turn, so that what the turn refuses afterwards is only its own field's
    if request.id is not None:
        _product(refiner.index, request.id)
    with _field("anchor"):
        dialogue.checked(request.anchor)
    # A correction ('anchor') belongs to the anchor it corrects: the session stores it with that anchor,
    # so later turns (and a later process) keep it without sending it again.
    if image is not None:
        outcome = dialogue.start(image, request.text, request.anchor)
    elif request.id is not None:
        outcome = dialogue.start_with_product(request.id, request.text, request.anchor)
    elif request.pick is not None:
        with _field("pick"):   # no result N to pick; what the turn refuses after a valid pick is not the pick's
            dialogue.pickable(request.pick)
        outcome = dialogue.pick(request.pick, request.text, request.anchor)
    elif request.anchor:
        outcome = dialogue.correct(request.anchor, request.text)
    else:
        if not request.text.strip():
            raise RequestError("say what to change, or 'pick' a result to continue from", field="text")
        outcome = dialogue.say(request.text)
    data = outcome.to_dict()
    if label is not None and image is not None:
        data["query"]["image"] = data["anchor"]["image"] = label
    return data


# --- sessions ----------------------------------------------------------------------------------

def existing_store(name: str) -> SessionStore:
    from fashrec.dialogue import SessionStore   # deferred, as in session_answer

    store = SessionStore.if_exists()
    if store is None:
        raise SessionError(f"no session named '{name}' (no sessions saved yet)",
                           hint=f'start one: fashrec refine IMAGE "TEXT" --session {name}')
    return store


def session_show(name: str) -> dict[str, Any]:
    """``fashrec session show NAME --json``."""
    from fashrec.dialogue.store import check_name   # deferred, as in session_answer

    with existing_store(check_name(name)) as store:
        return store.load(name).to_dict()


def session_undo(name: str) -> dict[str, Any]:
    """``fashrec session undo NAME --json``: forget the last turn."""
    from fashrec.dialogue.store import check_name   # deferred, as in session_answer

    with existing_store(check_name(name)) as store:
        removed = store.pop_turn(name)
        left = store.load(name)
    return {"session": name, "undone": removed.to_dict() if removed else None, "turns": len(left.turns),
            "constraints": left.summary()["constraints"]}


# --- plan and outfit ---------------------------------------------------------------------------

def previous_plan(data: Any) -> Plan:
    """A batch line's "previous" plan, checked field by field (it is untrusted JSON, and a plan with a
    string where a mapping belongs used to crash the planner)."""
    def fail(field: str, shape: str) -> RequestError:
        key = field[1:]
        if not key:
            return RequestError.of_field("previous", f"must be {shape}", data)
        if key in data:   # what was given, as every refused field quotes it
            return RequestError.of_field(f"previous{field}", f"must be {shape}", data[key])
        return RequestError.of_field(f"previous{field}", f"must be {shape}")   # e.g. a bad price_min

    if not isinstance(data, dict):
        raise fail("", "a plan object (as `fashrec plan --json` prints)")
    strings = lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)  # noqa: E731
    if not (isinstance(data.get("set", {}), dict) and all(isinstance(v, str) for v in data.get("set", {}).values())):
        raise fail(".set", "an object of attribute -> value")
    if not (isinstance(data.get("exclude", {}), dict)
            and all(isinstance(v, str) or strings(v) for v in data.get("exclude", {}).values())):
        raise fail(".exclude", "an object of attribute -> list of values")
    price = data.get("price") or {}
    bounds = [price.get("min"), price.get("max"), data.get("price_min"), data.get("price_max")] \
        if isinstance(price, dict) else None
    if bounds is None or not all(b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)
                                               and 0 <= b < float("inf")) for b in bounds):
        raise fail(".price", "an object of min and max, each a number of 0 or more or null")
    for key in ("relative", "keep", "drop", "notes"):
        if data.get(key) is not None and not strings(data[key]):
            raise fail(f".{key}", "a list of strings")
    if not isinstance(data.get("include_out_of_stock", False), bool):
        raise fail(".include_out_of_stock", "true or false")
    return Plan.from_dict(data)


def plan_answer(planner: Planner, request: PlanRequest, *, vocabulary, currency: str | None,
                anchor: dict[str, str] | None = None) -> dict[str, Any]:
    """``fashrec plan --batch`` line: what a request is understood to ask, grounded in the catalog."""
    previous = previous_plan(request.previous) if request.previous is not None else None
    # an empty name or value is refused as the field, as a refinement's corrections are: PlanContext would
    # drop an empty value unsaid and keep an attribute named ""
    with _field("anchor"):
        asked = normalized_overrides(request.anchor)
    context = PlanContext(vocabulary=vocabulary, anchor={**(anchor or {}), **asked},
                          previous=previous, currency=currency)
    return {"text": request.text, "plan": planner.plan(request.text, context).to_dict()}


def outfit_answer(composer: OutfitComposer, request: OutfitRequest, *, image: Path | None = None,
                  label: str | None = None, profile_off: bool = False) -> dict[str, Any]:
    """``fashrec outfit --json``: complete the look around an anchor image or catalog product."""
    from fashrec.planner.occasions import read_occasion   # deferred: refine, search and similar never read one

    index = composer.index
    if (image is None) == (request.id is None):   # said in the request's words: anchor_for says --id
        raise RequestError("give an anchor 'image' or an 'id', not both", field="id") if image is not None \
            else RequestError("the request needs an anchor: an 'image' or a catalog product 'id'", field="image")
    if request.id is not None:
        _product(index, request.id)
    if request.occasion and request.occasion.strip():   # read as compose reads it, first: refused as the field
        with _field("occasion"):
            read_occasion(request.occasion, index.vocabulary, given_as="the request's 'occasion'")
    anchor = anchor_for(index, composer.encoder, image, request.id)
    if label is not None and image is not None:
        anchor = replace(anchor, image=label)
    profile = profile_for(request, disabled=profile_off)
    limits = profile_limits(profile, index, anchor) if profile else None
    return composer.compose(anchor, occasion=request.occasion, n=request.n,
                            include_out_of_stock=request.include_out_of_stock, profile=limits,
                            budget=request.budget).to_dict()


def item_answer(index: Index, product_id: str) -> dict[str, Any]:
    """A catalog product: what result lists show of it, plus its sizes and description."""
    product = _product(index, product_id)
    return {**product.summary(), "sizes": product.sizes, "description": product.description}


def info_answer(index: Index) -> dict[str, Any]:
    """``fashrec info --json``: the index, and which encoder runtime queries will use."""
    data = index.info()
    data["query_runtime"] = dict(zip(("runtime", "why"), planned_runtime(index.encoder_identifier)))
    return data
