"""Server layer: the HTTP API and the shopper's page, a FastAPI application over one loaded :class:`Loaded`.

Every POST body is a ``--batch`` line of the matching command and every answer is that command's
``--json`` document, produced by the same :mod:`fashrec.service.handlers` function. Models run in worker
threads, so a slow request never stalls the page or ``/healthz``. Failures answer in the command line's
JSON error shape (``{"error", "message", "hint"}``) with a 4xx status; an unexpected one answers 500 with
no detail and is logged here.
"""

from __future__ import annotations

import copy
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Callable

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from fashrec.errors import FashrecError, NotFoundError, clipped
from fashrec.serve.guards import BodyLimit, SecurityHeaders, TrustedHosts, status_for
from fashrec.serve.state import Loaded
from fashrec.serve.thumbs import DEFAULT_SIZE, Thumbnails
from fashrec.serve.uploads import Body, UploadFolder, read_body
from fashrec.service import handlers, schema
from fashrec.service.handlers import Defaults
from fashrec.service.schema import ErrorDocument

log = logging.getLogger("fashrec.serve")
STATIC = Path(__file__).resolve().parent / "static"
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorDocument} for code in (400, 403, 404, 413, 503)}


def error_response(err: FashrecError) -> JSONResponse:
    return JSONResponse(err.to_dict(), status_code=status_for(err))


def create_app(loaded: Loaded, *, trusted_hosts: list[str] | None = None) -> FastAPI:
    """The application; ``trusted_hosts`` (None: any) are the Host headers it answers, against DNS rebinding."""
    uploads = UploadFolder(loaded.config.max_uploads_kept)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        uploads.close()

    app = FastAPI(title="fashrec", version="1", lifespan=lifespan, docs_url="/docs", redoc_url=None,
                  description="The fashrec commands over HTTP: each body is a `--batch` line, each answer the "
                              "command's `--json` document.")
    app.state.loaded, app.state.uploads = loaded, uploads
    app.state.thumbnails = Thumbnails(loaded.index, loaded.config.thumbnail_cache_bytes)
    _errors(app)
    _pages(app)
    _reads(app)
    _answers(app)
    _answer_head(app)
    app.openapi = lambda: _openapi(app)   # type: ignore[method-assign]
    app.add_middleware(SecurityHeaders)
    # a multipart upload carries its photo plus a little JSON and the form's boundaries
    app.add_middleware(BodyLimit, max_bytes=loaded.config.max_upload_bytes + 256 * 1024)
    if trusted_hosts is not None:
        app.add_middleware(TrustedHosts, hosts=trusted_hosts)
    return app


async def in_thread(work: Callable[[], Any]) -> Any:
    return await anyio.to_thread.run_sync(work)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(FashrecError)
    async def fashrec_error(request: Request, err: FashrecError) -> JSONResponse:
        return error_response(err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own refusals (a route or a static file not found, a method a route does not answer):
        # their status and headers (a 405's Allow) kept, the body fashrec's error document
        headers = dict(exc.headers or {})
        if "Allow" in headers:   # a route's methods are a set: listed in one order, whatever the process's hashing
            headers["Allow"] = ", ".join(sorted(m.strip() for m in headers["Allow"].split(",")))
        return JSONResponse(http_refusal(request.method, request.url.path, headers.get("Allow"), exc),
                            status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # a route's own parameters, checked by FastAPI: a bad request like any other (400), in fashrec's words
        return error_response(schema.parameter_error(exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error answering %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "message": "internal error (the server's log has the details)"},
                            status_code=500)


ROUTES_HINT = "the API's routes are listed at /docs (OpenAPI: /openapi.json); the shopper's page is /"


IDS_HINT = ('a product\'s id is the "id" of a result: find products with POST /search {"text": "red dress"} '
            '(or fashrec search "red dress" --json)')


def unknown_product(product_id: str, *, image: bool = False) -> JSONResponse:
    """The 404 of /items/ID or /images/ID for an id no product of the index has: which id, and where ids come
    from (/images/ is also where a client tries a file path: it takes ids only)."""
    hint = f"/images/ takes a catalog product's id, not a file path; {IDS_HINT}" if image else IDS_HINT
    return JSONResponse({"error": "not-found", "message": f"no product '{clipped(product_id)}' in the index",
                         "hint": hint}, status_code=404)


def http_refusal(method: str, path: str, allowed: str | None, exc: StarletteHTTPException) -> dict[str, Any]:
    """An ErrorDocument for a refusal Starlette makes before any route of fashrec's runs (``allowed``: a
    405's Allow header)."""
    where = clipped(path)
    if exc.status_code == 404:
        return {"error": "not-found", "message": f"no such page or route: {where}", "hint": ROUTES_HINT}
    if exc.status_code == 405:
        return {"error": "method-not-allowed", "message": f"{where} does not answer {method}",
                "hint": f"it answers {allowed}" if allowed else ROUTES_HINT}
    return {"error": "usage", "message": str(exc.detail)}


def _answer_head(app: FastAPI) -> None:
    """Every GET route answers HEAD too: the GET's status and headers without its body (RFC 9110 9.3.2; the
    server leaves the body out), as Starlette's own routes do and FastAPI's ``@app.get`` does not (a HEAD
    was refused 405). Added once the routes are declared, so each keeps its GET's OpenAPI operation id, and
    :func:`_openapi` documents the GET alone."""
    for route in app.router.routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            route.methods.add("HEAD")


def _pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _reads(app: FastAPI) -> None:
    loaded: Loaded = app.state.loaded

    @app.get("/healthz", summary="Ready to answer")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "items": len(loaded.index)}

    @app.get("/info", summary="fashrec info --json", responses={200: {"model": schema.InfoDocument}})
    async def info() -> dict[str, Any]:
        return await in_thread(lambda: handlers.info_answer(loaded.index))

    @app.get("/vocabulary", summary="Every attribute's values with their product counts")
    async def vocabulary() -> dict[str, dict[str, int]]:
        return loaded.index.vocabulary.to_dict()

    @app.get("/items/{product_id}", summary="One catalog product",
             responses={200: {"model": schema.ItemDocument}, **ERRORS})
    async def item(product_id: str) -> JSONResponse:
        try:
            return JSONResponse(handlers.item_answer(loaded.index, product_id))
        except NotFoundError:   # the handler decides it is missing; the 404's words are the server's (/images/'s)
            return unknown_product(product_id)

    @app.get("/images/{product_id}", summary="A catalog product's photo as a JPEG thumbnail",
             responses={200: {"content": {"image/jpeg": {}}}, **ERRORS})
    async def image(request: Request, product_id: str, size: int = Query(DEFAULT_SIZE)) -> Response:
        found = await in_thread(lambda: app.state.thumbnails.get(product_id, size))
        if found is None:
            return unknown_product(product_id, image=True)
        data, etag = found
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type="image/jpeg", headers=headers)

    @app.get("/sessions/{name}", summary="fashrec session show NAME --json",
             responses={200: {"model": schema.SessionDocument}, **ERRORS})
    async def session(name: str) -> dict[str, Any]:
        return await in_thread(lambda: handlers.session_show(name))

    @app.post("/sessions/{name}/undo", summary="fashrec session undo NAME --json",
              responses={200: {"model": schema.UndoDocument}, **ERRORS})
    async def undo(name: str) -> dict[str, Any]:
        return await in_thread(lambda: handlers.session_undo(name))


def _answers(app: FastAPI) -> None:
    loaded: Loaded = app.state.loaded
    config = loaded.config
    refine_defaults = Defaults(ask_below=config.ask_below)

    async def body(request: Request, model: type) -> Body:
        return await read_body(request, model, config.allowed_image_dirs, app.state.uploads,
                               config.max_upload_bytes)

    def post(path: str, model: type, answer: type, summary: str, upload: bool = False):
        return app.post(path, summary=summary, responses={200: {"model": answer}, **ERRORS},
                        openapi_extra={"requestBody": _body_doc(model, upload)})

    @post("/refine", schema.RefineRequest, schema.RefineDocument, "fashrec refine --json", upload=True)
    async def refine(request: Request) -> Any:
        got = await body(request, schema.RefineRequest)
        return await in_thread(lambda: handlers.refine_answer(loaded.refiner, got.request, image=got.image,
                                                              label=got.label, defaults=refine_defaults))

    @post("/search", schema.SearchRequest, schema.SearchDocument, "fashrec search --json")
    async def search(request: Request) -> Any:
        got = await body(request, schema.SearchRequest)
        return await in_thread(lambda: handlers.search_answer(loaded.searcher, got.request))

    @post("/similar", schema.SimilarRequest, schema.SearchDocument, "fashrec similar --json", upload=True)
    async def similar(request: Request) -> Any:
        got = await body(request, schema.SimilarRequest)
        return await in_thread(lambda: handlers.similar_answer(loaded.searcher, got.request, image=got.image,
                                                               label=got.label))

    @post("/outfit", schema.OutfitRequest, schema.OutfitDocument, "fashrec outfit --json", upload=True)
    async def outfit(request: Request) -> Any:
        got = await body(request, schema.OutfitRequest)
        return await in_thread(lambda: handlers.outfit_answer(loaded.composer, got.request, image=got.image,
                                                              label=got.label))

    @post("/plan", schema.PlanRequest, schema.PlanAnswer, "fashrec plan --batch (one line)")
    async def plan(request: Request) -> Any:
        got = await body(request, schema.PlanRequest)
        index = loaded.index
        return await in_thread(lambda: handlers.plan_answer(loaded.refiner.planner, got.request,
                                                            vocabulary=index.vocabulary, currency=index.currency))


def _body_doc(model: type, upload: bool) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    content: dict[str, Any] = {"application/json": {"schema": ref}}
    if upload:
        content["multipart/form-data"] = {"schema": {"type": "object", "properties": {
            "image": {"type": "string", "format": "binary", "description": "the photo"},
            "request": {"type": "string", "description": f"the rest of the request: a {model.__name__} as JSON"}}}}
    return {"required": True, "content": content}


_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDocument"}}}
REQUEST_MODELS = (schema.RefineRequest, schema.SearchRequest, schema.SimilarRequest, schema.OutfitRequest,
                  schema.PlanRequest)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request models the POST routes read themselves; without the 422 FastAPI
    promises for a parameter it refuses, which this server answers as a 400 ErrorDocument (:func:`_errors`)."""
    if app.openapi_schema is None:
        document = get_openapi(title=app.title, version=app.version, description=app.description,
                               routes=[_documented(route) for route in app.routes])
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for operation in (op for methods in document.get("paths", {}).values() for op in methods.values()):
            if operation.get("responses", {}).pop("422", None) is not None:
                operation["responses"].setdefault("400", {"description": "Bad request",
                                                          "content": _ERROR_CONTENT})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        for model in REQUEST_MODELS:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(found.pop("$defs", {}))
            components[model.__name__] = found
        app.openapi_schema = document
    return app.openapi_schema


def _documented(route: Any) -> Any:
    """A route as OpenAPI describes it: a GET route's HEAD (:func:`_answer_head`) left out, since every HTTP
    client knows a HEAD is the GET without its body (documented, it would repeat the GET's operation id)."""
    if isinstance(route, APIRoute) and "HEAD" in route.methods:
        route = copy.copy(route)
        route.methods = route.methods - {"HEAD"}
    return route
