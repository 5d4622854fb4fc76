"""Service layer: the request records, plain dataclasses, defined once.

A request is what one ``--batch`` line holds, what an HTTP body holds and what a single command builds
from its options. The records are plain dataclasses so that a command answering in this process never
imports pydantic (~0.15-1.3 s of a cold query); :mod:`fashrec.service.schema` builds the pydantic
models (the server's OpenAPI schema, the validation of a line or a body) from these same fields, so the
two cannot disagree. Each field's ``metadata`` holds its bounds and description in pydantic's
``Field`` words (``ge``, ``le``, ``min_length``, ``gt``, ``description``); every ``int`` is a count
(JSON ``true`` is refused, not read as 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, Union

from fashrec.errors import RequestError, UsageError

Where = Optional[Union[dict[str, Union[str, list[str]]], list[str]]]
# What a field of several shapes takes, as the README and the --batch help write it (a refused value is
# told this, not each shape's own complaint).
SHAPES = {"where": '{"ATTR": "VALUE"} or ["ATTR=VALUE", ...]'}
SORTS = ("relevance", "price", "-price")   # fashrec.search.SORTS, readable without loading the search stack
Sort = Optional[Literal[SORTS]]

# the bounds of -k (cli/options.py MAX_K) and of --offset (cli/batch.py MAX_OFFSET)
_K = {"ge": 1, "le": 1000, "description": "How many results (default: the command's -k, 10)."}
_OFFSET = {"ge": 0, "le": 100_000, "description": "Skip this many results: the next page (default: --offset, 0)."}
_SORT = {"description": "relevance, or price / -price over the most relevant (default: --sort)."}


def check_sort(sort: str) -> str:
    """--sort checked before a request goes anywhere: answered here or by a server, a bad value reads the
    same (a server's request model would refuse it in pydantic's words)."""
    if sort not in SORTS:
        raise UsageError(f"sort must be one of {', '.join(SORTS)}, got '{sort}'")
    return sort


# The strategies fashrec ships (fashrec.ammr.available_strategies() once the baselines are registered),
# readable without loading the AMMR loop: --server checks --strategy with them before sending anything.
STRATEGIES = ("ammr", "fusion", "image", "text")


def check_strategy(strategy: str, available: tuple[str, ...] | list[str] = STRATEGIES, *,
                   field: str | None = None) -> str:
    """--strategy checked before a request goes anywhere: answered here or by a server, a bad one reads the same.
    ``field``: the value is a request's (a --batch line, a body), so the error names that field, not the option."""
    if strategy not in available:
        if field is not None:
            raise RequestError.of_field(field, f"must be one of {', '.join(available)}", strategy)
        raise UsageError(f"--strategy must be one of {', '.join(available)}")
    return strategy


def encodable(value: Any) -> bool:
    """Whether a parsed JSON document is valid Unicode throughout: JSON's \\udXXX escapes can write half a
    surrogate pair, which Python's parser accepts and nothing can print or encode (an answer quoting it
    would fail)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _f(default: Any = None, *, factory: Any = None, **about: Any) -> Any:
    """A field with its bounds and description (``default=...``: required)."""
    if factory is not None:
        return field(default_factory=factory, metadata=about)
    return field(default=default, metadata=about) if default is not ... else field(metadata=about)


@dataclass(kw_only=True)
class ProfileFields:
    """Standing wishes for this request only, in place of the saved profile (``fashrec profile set``)."""

    size: Optional[str] = None
    budget: Optional[float] = _f(None, ge=0)
    avoid: list[str] = _f(factory=list)
    prefer: list[str] = _f(factory=list)
    brands: list[str] = _f(factory=list)


@dataclass(kw_only=True)
class PersonalFields:
    no_profile: bool = _f(False, description="Ignore the personal profile (like --no-profile).")
    profile: Optional[ProfileFields] = _f(None, description="A profile for this request instead of the "
                                          "saved one.")


@dataclass(kw_only=True)
class SearchRequest(PersonalFields):
    """`fashrec search --batch` line, `POST /search` body."""

    text: str = _f(..., min_length=1, description="What you are looking for, in words.")
    k: Optional[int] = _f(None, **_K)
    offset: Optional[int] = _f(None, **_OFFSET)
    sort: Sort = _f(None, **_SORT)
    where: Where = _f(None, description='Hard filters: {"category": "shoes"} or ["color!=black"].')
    strict: Optional[bool] = _f(None, description="Exact matches only: a short answer lists no near misses "
                                "(like --strict).")
    relax: list[int] = _f(factory=list, description="Take way forward N of the answer's shortfall (its "
                          "options' numbers), then M of that answer... (like --relax N --relax M).")


@dataclass(kw_only=True)
class SimilarRequest(PersonalFields):
    """`fashrec similar --batch` line, `POST /similar` body (or a multipart upload)."""

    image: Optional[str] = _f(None, description="An image file (the server: under an allowed folder).")
    id: Optional[str] = _f(None, description="A catalog product whose photo is the query.")
    k: Optional[int] = _f(None, **_K)
    offset: Optional[int] = _f(None, **_OFFSET)
    sort: Sort = _f(None, **_SORT)
    where: Where = None


@dataclass(kw_only=True)
class RefineRequest(PersonalFields):
    """`fashrec refine --batch` line, `POST /refine` body (or a multipart upload).

    The anchor is an ``image``, a catalog product ``id``, or (in a session) the previous turn's.
    """

    image: Optional[str] = _f(None, description="The anchor image (the server: under an allowed folder).")
    id: Optional[str] = _f(None, description="A catalog product as the anchor (like --id).")
    text: str = _f("", description='What should be different: "but in linen".')
    k: Optional[int] = _f(None, **_K)
    offset: Optional[int] = _f(None, **_OFFSET)
    sort: Sort = _f(None, **_SORT)
    strategy: Optional[str] = _f(None, description="ammr (default) or image, text, fusion.")
    max_steps: Optional[int] = _f(None, ge=1, le=50)
    ask_below: Optional[float] = _f(None, ge=0, le=1.01, description="Also ask to confirm the anchor's "
                                    "identity read below this confidence (like --ask-below).")
    anchor: dict[str, str] = _f(factory=dict, description='Corrections of what was read from the '
                                'photo: {"category": "dress"} (like --anchor category=dress).')
    strict: Optional[bool] = _f(None, description="Exact matches only: a short answer lists no near misses "
                                "(like --strict).")
    relax: list[int] = _f(factory=list, description="Take way forward N of the answer's shortfall (its "
                          "options' numbers), then M of that answer... (like --relax N --relax M).")
    session: Optional[str] = _f(None, description="Conversation name: an anchor (re)starts it, text alone "
                                "refines its last turn.")
    pick: Optional[int] = _f(None, ge=1, description="Continue from result N of the session's last turn.")


@dataclass(kw_only=True)
class PlanRequest:
    """`fashrec plan --batch` line, `POST /plan` body."""

    text: str = _f(...)
    anchor: dict[str, str] = _f(factory=dict, description="The anchor's attributes.")
    previous: Optional[dict[str, Any]] = _f(None, description="The plan of earlier turns.")


@dataclass(kw_only=True)
class OutfitRequest(PersonalFields):
    """`POST /outfit` body (or a multipart upload): complete the look around an anchor piece."""

    image: Optional[str] = None
    id: Optional[str] = None
    occasion: Optional[str] = None
    n: int = _f(3, ge=1, le=20, description="How many distinct outfits.")
    budget: Optional[float] = _f(None, gt=0, description="What the added pieces of one look may cost "
                                 "together (like --budget).")
    include_out_of_stock: bool = False


RECORDS = (ProfileFields, SearchRequest, SimilarRequest, RefineRequest, PlanRequest, OutfitRequest)
