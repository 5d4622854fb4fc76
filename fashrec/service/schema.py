"""Service layer: the request and answer documents, defined once as pydantic models.

A request model is what one ``--batch`` line holds and what an HTTP body holds, and both are read with
:func:`read_request`, so a line and a body fail the same way, naming the field. The answer models
describe the ``--json`` documents (the server's OpenAPI schema comes from them); they allow extra fields
because the documents may grow (new fields are added, existing ones never renamed), and the tests check
that what the commands print validates against them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from fashrec.errors import UsageError



def _not_a_bool(value: Any) -> Any:
    # JSON true is not a count (pydantic would read it as 1); 2.0 still is 2
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


Count = Annotated[int, BeforeValidator(_not_a_bool)]
# the bounds of -k and --max-steps (cli/options.py MAX_K, MAX_STEPS)
K = Field(None, ge=1, le=1000, description="How many results (default: the command's -k, 10).")
Where = Optional[Union[dict[str, Union[str, list[str]]], list[str]]]
# the bounds of --offset (cli/batch.py MAX_OFFSET) and the orders of --sort (fashrec.search)
Offset = Field(None, ge=0, le=100_000, description="Skip this many results: the next page (default: --offset, 0).")
Sort = Optional[Literal["relevance", "price", "-price"]]
SORT = Field(None, description="relevance, or price / -price over the most relevant (default: --sort).")


class _Request(BaseModel):
    # A misspelt field ("txt") is an error that names it, not a silently ignored wish.
    model_config = ConfigDict(extra="forbid")


class ProfileFields(_Request):
    """Standing wishes for this request only, in place of the saved profile (``fashrec profile set``)."""

    size: Optional[str] = None
    budget: Optional[float] = Field(None, ge=0)
    avoid: list[str] = Field(default_factory=list)
    prefer: list[str] = Field(default_factory=list)
    brands: list[str] = Field(default_factory=list)


class PersonalFields(_Request):
    no_profile: bool = Field(False, description="Ignore the personal profile (like --no-profile).")
    profile: Optional[ProfileFields] = Field(None, description="A profile for this request instead of the "
                                             "saved one.")


class SearchRequest(PersonalFields):
    """`fashrec search --batch` line, `POST /search` body."""

    text: str = Field(..., min_length=1, description="What you are looking for, in words.")
    k: Optional[Count] = K
    offset: Optional[Count] = Offset
    sort: Sort = SORT
    where: Where = Field(None, description='Hard filters: {"category": "shoes"} or ["color!=black"].')


class SimilarRequest(PersonalFields):
    """`fashrec similar --batch` line, `POST /similar` body (or a multipart upload)."""

    image: Optional[str] = Field(None, description="An image file (the server: under an allowed folder).")
    id: Optional[str] = Field(None, description="A catalog product whose photo is the query.")
    k: Optional[Count] = K
    offset: Optional[Count] = Offset
    sort: Sort = SORT
    where: Where = None


class RefineRequest(PersonalFields):
    """`fashrec refine --batch` line, `POST /refine` body (or a multipart upload).

    The anchor is an ``image``, a catalog product ``id``, or (in a session) the previous turn's.
    """

    image: Optional[str] = Field(None, description="The anchor image (the server: under an allowed folder).")
    id: Optional[str] = Field(None, description="A catalog product as the anchor (like --id).")
    text: str = Field("", description='What should be different: "but in linen".')
    k: Optional[Count] = K
    offset: Optional[Count] = Offset
    sort: Sort = SORT
    strategy: Optional[str] = Field(None, description="ammr (default) or image, text, fusion.")
    max_steps: Optional[Count] = Field(None, ge=1, le=50)
    ask_below: Optional[float] = Field(None, ge=0, le=1.01, description="Also ask to confirm the anchor's "
                                       "identity read below this confidence (like --ask-below).")
    anchor: dict[str, str] = Field(default_factory=dict, description='Corrections of what was read from the '
                                   'photo: {"category": "dress"} (like --anchor category=dress).')
    strict: Optional[bool] = Field(None, description="Exact matches only: a short answer lists no near misses "
                                   "(like --strict).")
    session: Optional[str] = Field(None, description="Conversation name: an anchor (re)starts it, text alone "
                                   "refines its last turn.")
    pick: Optional[Count] = Field(None, ge=1, description="Continue from result N of the session's last turn.")


class PlanRequest(_Request):
    """`fashrec plan --batch` line, `POST /plan` body."""

    text: str
    anchor: dict[str, str] = Field(default_factory=dict, description="The anchor's attributes.")
    previous: Optional[dict[str, Any]] = Field(None, description="The plan of earlier turns.")


class OutfitRequest(PersonalFields):
    """`POST /outfit` body (or a multipart upload): complete the look around an anchor piece."""

    image: Optional[str] = None
    id: Optional[str] = None
    occasion: Optional[str] = None
    n: Count = Field(3, ge=1, le=20, description="How many distinct outfits.")
    budget: Optional[float] = Field(None, gt=0, description="What the added pieces of one look may cost "
                                    "together (like --budget).")
    include_out_of_stock: bool = False


R = TypeVar("R", bound=BaseModel)


def read_request(model: type[R], data: Any) -> R:
    """A request document as ``model``, or a UsageError naming the first bad field."""
    if not isinstance(data, dict):
        raise UsageError("a request must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UsageError(describe_validation(exc)) from None


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def describe_validation(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "request"
        message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].lower()
        message = message.removeprefix("value error, ")
        if err["type"] not in ("missing", "extra_forbidden"):   # what was given, so a script sees its value
            message += f" (got {_shown(err.get('input'))})"
        problems.append(f"field '{where}': {message}")
    more = len(exc.errors()) - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


# --- the answers (documentation of what the commands print; extra fields allowed) ----------------

class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDocument(_Answer):
    """What a failed request answers (the CLI prints the same on stderr with --json)."""

    error: str = Field(..., description="usage, image, catalog, index, model, planner, session, not-found, "
                       "too-large, internal")
    message: str
    hint: Optional[str] = None


class PlanDocument(_Answer):
    set: dict[str, str]
    exclude: dict[str, list[str]]
    price: dict[str, Optional[float]]
    relative: list[str]
    keep: list[str]
    drop: list[str]
    include_out_of_stock: bool
    query: str
    source: str
    notes: list[str]


class ProductSummary(_Answer):
    id: str
    title: Optional[str] = None
    image: str
    attributes: dict[str, Union[str, list[str]]]
    brand: Optional[str] = None
    price: Optional[float] = None
    currency: Optional[str] = None
    in_stock: Optional[bool] = None


class SearchHit(ProductSummary):
    score: float
    why: Optional[str] = None


class SearchDocument(_Answer):
    query: dict[str, Any]
    results: list[SearchHit]
    timing_ms: dict[str, float]
    notes: Optional[list[str]] = None   # --where words the catalog lacks ("did you mean color=red?")


class AnchorDocument(_Answer):
    image: Optional[str] = None
    catalog_id: Optional[str] = None
    price: Optional[float] = None
    attributes: dict[str, dict[str, Any]]


class RefineHit(SearchHit):
    similarity: float
    satisfied: list[str]
    violated: list[str]
    checks: list[dict[str, Any]]
    why: str


class RefineDocument(_Answer):
    query: dict[str, Any]
    anchor: AnchorDocument
    plan: PlanDocument
    relative: Optional[dict[str, Any]] = None
    target: str
    steps: list[dict[str, Any]]
    stop_reason: str
    results: list[RefineHit]
    timing_ms: dict[str, float]
    profile: Optional[Any] = None
    session: Optional[dict[str, Any]] = Field(None, description="Only for a session turn.")


class PlanAnswer(_Answer):
    text: str
    plan: PlanDocument


class OutfitDocument(_Answer):
    anchor: dict[str, Any]
    outfits: list[dict[str, Any]]
    profile: Optional[Any] = None
    timing_ms: dict[str, float]


class InfoDocument(_Answer):
    path: str
    items: int
    schema_version: int
    encoder: dict[str, Any]
    attributes: dict[str, int]


class ItemDocument(ProductSummary):
    sizes: Optional[list[str]] = None
    description: Optional[str] = None


class SessionDocument(_Answer):
    name: str
    turns: list[dict[str, Any]]


class UndoDocument(_Answer):
    session: str
    undone: Optional[dict[str, Any]] = None
    turns: int
    constraints: list[str]
