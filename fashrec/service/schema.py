"""Service layer: the request and answer documents as pydantic models.

The request models are built from the plain records of :mod:`fashrec.service.requests` (one source of
truth: the same fields, bounds and descriptions), so the command line answering in its own process never
imports pydantic; a ``--batch`` line and an HTTP body are both read with :func:`read_request`, so a line
and a body fail the same way, naming the field, and both come back as a record. The answer models
describe the ``--json`` documents (the server's OpenAPI schema comes from them); they allow extra fields
because the documents may grow (new fields are added, existing ones never renamed), and the tests check
that what the commands print validates against them.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from typing import Annotated, Any, Iterable, Optional, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from fashrec.errors import RequestError, shown
from fashrec.service import requests


def _not_a_bool(value: Any) -> Any:
    # JSON true is not a count (pydantic would read it as 1); 2.0 still is 2
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


Count = Annotated[int, BeforeValidator(_not_a_bool)]


class _Request(BaseModel):
    # A misspelt field ("txt") is an error that names it, not a silently ignored wish.
    model_config = ConfigDict(extra="forbid")


_MODELS: dict[type, type[_Request]] = {}    # record -> its model
_RECORDS: dict[type, type] = {}             # model -> its record


def _as_model_type(hint: Any) -> Any:
    """A record's type hint in the model's words: an int is a Count, a nested record its model."""
    if hint is int:
        return Count
    if hint in _MODELS:
        return _MODELS[hint]
    if typing.get_origin(hint) is list:
        return list[_as_model_type(typing.get_args(hint)[0])]
    if typing.get_origin(hint) is Union:
        return Union[tuple(_as_model_type(a) for a in typing.get_args(hint))]
    return hint


def _model(record: type) -> type[_Request]:
    """The pydantic model of a request record: its fields with their bounds, its name and docstring."""
    hints = typing.get_type_hints(record)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.default_factory is not dataclasses.MISSING:
            info = Field(default_factory=f.default_factory, **f.metadata)
        else:
            info = Field(... if f.default is dataclasses.MISSING else f.default, **f.metadata)
        fields[f.name] = (_as_model_type(hints[f.name]), info)
    doc = record.__doc__
    if doc and doc.startswith(record.__name__ + "("):   # the signature dataclass writes when none is given
        doc = None
    model = create_model(record.__name__, __base__=_Request, __doc__=doc, __module__=__name__, **fields)
    _MODELS[record], _RECORDS[model] = model, record
    return model


ProfileFields = _model(requests.ProfileFields)
PersonalFields = _model(requests.PersonalFields)
SearchRequest = _model(requests.SearchRequest)
SimilarRequest = _model(requests.SimilarRequest)
RefineRequest = _model(requests.RefineRequest)
PlanRequest = _model(requests.PlanRequest)
OutfitRequest = _model(requests.OutfitRequest)

R = TypeVar("R")


def _record(value: Any) -> Any:
    """A validated model as its record (a nested profile too)."""
    if isinstance(value, BaseModel):
        return _RECORDS[type(value)](**{name: _record(getattr(value, name)) for name in type(value).model_fields})
    return value


def read_request(kind: type[R], data: Any) -> R:
    """A request document, validated, as the record ``kind`` (a record class or its model); or a
    RequestError naming the first bad field."""
    model = _MODELS.get(kind, kind)
    if not isinstance(data, dict):   # as a body FastAPI reads itself is refused (parameter_error)
        raise RequestError(f"the request must be a JSON object (got {shown(data)})", field="request")
    try:
        return _record(model.model_validate(data))
    except ValidationError as exc:
        problems = _problems(exc.errors(), data)
        raise RequestError(_described(problems), field=problems[0][0] if problems else None) from None


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


# pydantic's error types in fashrec's words: what the value must be (ctx: the bound pydantic names)
_MUST = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "unknown field",
    "literal_error": lambda ctx: "must be one of " + ", ".join(re.findall(r"'((?:[^'\\]|\\.)*)'", ctx["expected"])),
    "int_type": lambda ctx: "must be a whole number",
    "int_parsing": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "int_parsing_size": lambda ctx: "must be a whole number, not one this long",
    "float_type": lambda ctx: "must be a number",
    "float_parsing": lambda ctx: "must be a number",
    "finite_number": lambda ctx: "must be a finite number",
    "bool_type": lambda ctx: "must be true or false",
    "bool_parsing": lambda ctx: "must be true or false",
    "string_type": lambda ctx: "must be a string",
    "string_too_short": lambda ctx: ("must not be empty" if ctx["min_length"] == 1
                                     else f"must be at least {ctx['min_length']} characters"),
    "dict_type": lambda ctx: "must be a JSON object",
    "model_type": lambda ctx: "must be a JSON object",
    "list_type": lambda ctx: "must be a list",
    "greater_than_equal": lambda ctx: f"must be at least {_number(ctx['ge'])}",
    "greater_than": lambda ctx: f"must be more than {_number(ctx['gt'])}",
    "less_than_equal": lambda ctx: f"must be at most {_number(ctx['le'])}",
    "less_than": lambda ctx: f"must be less than {_number(ctx['lt'])}",
    "value_error": lambda ctx: str(ctx["error"]),
}


def _problems(errors: Iterable[dict], data: Any = None) -> list[tuple[str, str]]:
    """(field, what is wrong with it) for each bad field of pydantic's ``errors``, in order, once each.

    A field of several shapes (``where``) fails once per shape, under locations naming each shape
    (``where.list[str]``): it is told the shapes it takes instead (:data:`requests.SHAPES`)."""
    found: dict[str, str] = {}
    for err in errors:
        loc = [str(p) for p in err["loc"]]
        shape = next((i for i, part in enumerate(loc) if "[" in part), None)
        where = ".".join(loc[:shape]) or "request"
        if where in found:
            continue
        if shape is not None and loc[0] in requests.SHAPES:
            message = f"must be {requests.SHAPES[loc[0]]}"
        elif err["type"] in _MUST:
            message = _MUST[err["type"]](err.get("ctx") or {})
        else:   # a check no request field has yet: pydantic's sentence, still naming the field
            message = err["msg"][:1].lower() + err["msg"][1:]
        if err["type"] not in ("missing", "extra_forbidden"):   # what was given, so a script sees its value
            given = err.get("input") if shape is None else _value(data, err["loc"][:shape], err.get("input"))
            message += f" (got {shown(given)})"
        found[where] = message
    return list(found.items())


def _value(data: Any, path: tuple, default: Any) -> Any:
    """What ``data`` holds at ``path`` (the whole field a shape's error is about; its input is a part)."""
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return default
    return data


def _described(problems: list[tuple[str, str]], place: str = "field") -> str:
    said = [f"{place} '{where}': {message}" for where, message in problems[:3]]
    more = len(problems) - len(said)
    return "; ".join(said) + (f" (and {more} more)" if more > 0 else "")


# where FastAPI found a parameter it refused (the first part of an error's location)
_PLACES = {"query": "query parameter", "path": "path parameter", "header": "header", "cookie": "cookie",
           "body": "field"}


def parameter_error(errors: Iterable[dict]) -> RequestError:
    """FastAPI's refusal of a route's own parameters or body (``/images/ID?size=abc``), in the words of
    every refused field: where it is and its name, what it must be, what was given (cut short); never
    pydantic's list of locations and messages, nor the whole input echoed back."""
    errors = [{**err, "loc": tuple(err.get("loc") or ("body",))} for err in errors]
    broken = next((err for err in errors if err.get("type") == "json_invalid"), None)
    if broken is not None:   # a body FastAPI parses itself that is not JSON at all
        why = (broken.get("ctx") or {}).get("error", "not JSON")
        return RequestError(f"malformed JSON body: {why} (character {broken['loc'][-1]})", field="request")
    said, blamed = [], []
    for where in dict.fromkeys(str(err["loc"][0]) for err in errors):
        problems = _problems({**err, "loc": err["loc"][1:]} for err in errors if str(err["loc"][0]) == where)
        blamed += [name for name, _ in problems]
        said += [f"the request {message}" for name, message in problems if name == "request"]
        named = [problem for problem in problems if problem[0] != "request"]
        if named:
            said.append(_described(named, _PLACES.get(where, where)))
    return RequestError("; ".join(said), field=blamed[0] if blamed else None)


# --- the answers (documentation of what the commands print; extra fields allowed) ----------------

class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorDocument(_Answer):
    """What a failed request answers (the CLI prints the same on stderr with --json)."""

    error: str = Field(..., description="usage, image, catalog, profile (400), invalid-host (400: a Host "
                       "header this server does not answer), forbidden (403), not-found, session (404), "
                       "method-not-allowed (405; the hint names the methods the route answers, as its Allow "
                       "header), too-large (413), planner (422), index, index-locked, encoder-mismatch, model "
                       "(503), internal (500)")
    message: str
    hint: Optional[str] = None
    field: Optional[str] = Field(None, description="The request's field or the URL's parameter to blame, when one is.")


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
    shortfall: Optional[dict[str, Any]] = Field(None, description="Fewer exact matches than asked for: said, "
                                                "with what giving up each constraint would yield.")
    alternatives: list[SearchHit] = Field(default_factory=list, description="Labelled near misses, apart "
                                          "from the results; each names what it lacks.")
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
