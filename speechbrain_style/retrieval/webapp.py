"""The search page's web app: FastAPI over a :class:`StyleSearchService`.

``create_app(service)`` builds the ASGI app that ``speechbrain-style serve``
runs with uvicorn (the optional extra: ``pip install
"speechbrain-style[serve]"``). Its routes:

* ``GET /``: the search page (``search_page.html`` next to this module: one
  self-contained HTML file with its script and style inline, no remote
  asset; a text box, the top-k results with their scores, metadata and an
  audio player each);
* ``GET|POST /api/search?q=...&k=10[&filter=field:value ...][&fusion=N]``:
  JSON ``{"query", "k", "filters", "fusion", "results": [{"rank", "id",
  "score", "metadata", "audio_url"}]}``. POST takes the same fields as a
  form or as a JSON object (``filter`` may then be a ``{field: value}``
  dict). Filters have the syntax of ``speechbrain-style search --filter``
  (:mod:`speechbrain_style.retrieval.filters`);
* ``GET /api/info``: number of items, model fingerprint and the metadata
  fields that can be filtered on, with their values;
* ``GET /audio/<row>``: the audio of the index's row ``row`` as
  ``audio/wav``, served by Starlette's ``FileResponse`` with HTTP Range
  (seeking, ``206``) and HEAD. Only items of the index are served,
  addressed by their row number, never by a path; segments and other
  formats are cut or transcoded by the service into its bounded on-disk
  cache (:class:`speechbrain_style.retrieval.service.WavCache`);
* ``GET /openapi.json``: the OpenAPI schema of the three API routes.
  FastAPI's ``/docs`` and ``/redoc`` pages are switched off: they load
  Swagger UI and ReDoc from a CDN, which an offline machine cannot reach
  and the strict Content-Security-Policy would block anyway. Any OpenAPI
  viewer or client generator reads ``/openapi.json``.

Errors are JSON ``{"error": message, "status": code}``: 400 for an empty
query, a bad ``k``/filter/fusion, a malformed body or Range header, 413 for
a query longer than ``MAX_QUERY_CHARS`` or a body over ``MAX_BODY_BYTES``,
404 for unknown paths or rows, 405 (with ``Allow``) for a method a route
does not take, 416 (with ``Content-Range: bytes */size``) for an
unsatisfiable range, 500 for unreadable audio.

Every answer carries ``X-Content-Type-Options: nosniff`` and a
Content-Security-Policy: the page's allows only its own inline script and
style (by their sha256) and same-origin fetches and audio; the others allow
nothing. The page has no authentication: keep the default loopback host
unless the network in front of it is trusted.

Authors
 * speechbrain-style contributors 2026
"""

import base64
import hashlib
import json
import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel
from speechbrain.utils.logger import get_logger
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match

from speechbrain_style import __version__
from speechbrain_style.retrieval.service import (
    DEFAULT_K,
    MAX_BODY_BYTES,
    MAX_FUSION,
    MAX_K,
    MAX_QUERY_CHARS,
    RequestError,
)

logger = get_logger(__name__)

PAGE_FILE = "search_page.html"
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _sha256_source(text):
    """The CSP source that allows exactly this inline script or style."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _inline(page, tag):
    """The text of the one inline ``<tag>`` element of the page."""
    found = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
    if len(found) != 1:
        raise ValueError(f"{PAGE_FILE} must have one <{tag}>, has {len(found)}")
    return found[0]


_PAGE = (
    resources.files("speechbrain_style.retrieval")
    .joinpath(PAGE_FILE)
    .read_text(encoding="utf-8")
)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"script-src {_sha256_source(_inline(_PAGE, 'script'))}; "
    f"style-src {_sha256_source(_inline(_PAGE, 'style'))}; "
    "connect-src 'self'; media-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The page's policy: its own inline script and style, same-origin fetches."""


def render_page(max_k=MAX_K, max_query_chars=MAX_QUERY_CHARS):
    """The search page's HTML (inline script and style, no remote asset).

    Arguments
    ---------
    max_k : int
        Largest k the form offers.
    max_query_chars : int
        ``maxlength`` of the text box.

    Returns
    -------
    str

    Example
    -------
    >>> page = render_page(max_k=50)
    >>> 'id="query"' in page and 'max="50"' in page and "{{" not in page
    True
    >>> "http" in page
    False
    """
    fields = {
        "max_k": int(max_k),
        "max_query_chars": int(max_query_chars),
        "k": min(DEFAULT_K, int(max_k)),
    }
    page = _PAGE
    for name, value in fields.items():
        page = page.replace("{{" + name + "}}", str(value))
    return page


class _JSONResponse(JSONResponse):
    """JSON in UTF-8, as ``json.dumps(ensure_ascii=False)`` writes it."""

    media_type = "application/json; charset=utf-8"

    def render(self, content):
        """The body bytes."""
        return json.dumps(content, ensure_ascii=False).encode("utf-8")


def _error(status, message, headers=None):
    """The API's error answer: ``{"error": message, "status": status}``."""
    return _JSONResponse(
        {"error": str(message), "status": int(status)},
        status_code=int(status),
        headers=headers,
    )


class _WavFileResponse(FileResponse):
    """A FileResponse whose Range errors (400, 416) are the API's JSON."""

    async def __call__(self, scope, receive, send):
        """Sends the file; rewrites Starlette's plain-text Range errors."""
        error = {}

        async def send_json_errors(message):
            """Forwards ``message``, or holds a 400/416 answer to resend it
            as the API's JSON error."""
            if message["type"] == "http.response.start" and message[
                "status"
            ] in (400, 416):
                error.update(message, body=b"")
                return
            if not error:
                await send(message)
                return
            error["body"] += message.get("body", b"")
            if message.get("more_body"):
                return
            status = error["status"]
            headers = Headers(raw=list(error["headers"]))
            if status == 416:
                size = headers.get("content-range", "*/?").split("/")[-1]
                text = (
                    f"range {Headers(scope=scope).get('range')} is outside the "
                    f"{size} bytes of the audio"
                )
            else:
                text = error["body"].decode("utf-8", "replace")
            answer = _error(status, text)
            if "content-range" in headers:
                answer.headers["Content-Range"] = headers["content-range"]
            await answer(scope, receive, send)

        await super().__call__(scope, receive, send_json_errors)


class _SecurityHeaders:
    """ASGI middleware: ``nosniff``, a default CSP and ``no-store``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        """Adds the headers to each HTTP answer that lacks them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            """Adds the missing security headers to the response start."""
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault(
                    "Content-Security-Policy", API_CONTENT_SECURITY_POLICY
                )
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Documentation of the JSON shapes (the OpenAPI schema); answers are built by
# the service as plain dicts.
class SearchResult(BaseModel):
    """One result of ``/api/search``."""

    rank: int
    id: str
    score: float
    metadata: dict[str, Any]
    audio_url: str


class SearchAnswer(BaseModel):
    """The answer of ``/api/search``."""

    query: str
    k: int
    filters: list[str]
    fusion: int | None
    results: list[SearchResult]


class IndexInfo(BaseModel):
    """The answer of ``/api/info``."""

    count: int
    dim: int
    model_fingerprint: str | None
    max_k: int
    max_query_chars: int
    fields: dict[str, list[str]]


class ErrorAnswer(BaseModel):
    """Every 4xx/5xx answer."""

    error: str
    status: int


_ERRORS = {
    400: {"model": ErrorAnswer, "description": "Bad request"},
    404: {"model": ErrorAnswer, "description": "No such path or row"},
}


_ROW_PARAMETER = {
    "name": "row",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
    "description": "row number in the index (the audio_url of a result)",
}


def _search_fields(service):
    """OpenAPI parameters of ``GET /api/search`` and its POST body."""
    query = {
        "type": "string",
        "maxLength": service.max_query_chars,
        "description": "a description of a speaking style, e.g. 'a woman "
        "whispering slowly'",
    }
    k = {"type": "integer", "minimum": 1, "maximum": service.max_k}
    k["default"] = min(DEFAULT_K, service.max_k)
    filters = {
        "type": "array",
        "items": {"type": "string"},
        "description": "metadata filters: 'sex:female', 'sex=female', "
        "'spk!=7', 'duration>=2' (repeat the field; one field's "
        "equalities are alternatives)",
    }
    fusion = {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_FUSION,
        "description": "cross-modal fusion neighbours (speaker retrieval)",
    }
    parameters = [
        {"name": "q", "in": "query", "required": True, "schema": query},
        {"name": "k", "in": "query", "schema": k},
        {"name": "filter", "in": "query", "schema": filters, "explode": True},
        {"name": "fusion", "in": "query", "schema": fusion},
    ]
    json_filters = {
        "anyOf": [
            filters,
            {"type": "string"},
            {
                "type": "object",
                "description": "{field: value or [values]}",
            },
        ]
    }
    body = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "q": query,
                        "k": k,
                        "filter": json_filters,
                        "fusion": fusion,
                    },
                    "required": ["q"],
                }
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "q": query,
                        "k": k,
                        "filter": filters,
                        "fusion": fusion,
                    },
                    "required": ["q"],
                }
            },
        },
    }
    return parameters, body


def parse_body(raw, content_type):
    """The fields of a ``POST /api/search`` body (JSON or form-encoded).

    Arguments
    ---------
    raw : bytes
        The body.
    content_type : str
        Its ``Content-Type`` header (``application/json`` for JSON, anything
        else is read as ``application/x-www-form-urlencoded``).

    Returns
    -------
    dict
        Field name to value; ``filter`` of a form is the list of its values,
        other repeated form fields keep their last value.

    Raises
    ------
    RequestError
        400 for a body that is not UTF-8, not JSON or not a JSON object.

    Example
    -------
    >>> parse_body(b"q=calm&k=3&filter=sex:male&filter=spk=2", "")
    {'q': 'calm', 'k': '3', 'filter': ['sex:male', 'spk=2']}
    >>> parse_body(b'{"q": "calm", "filter": {"sex": "male"}}',
    ...            "application/json; charset=utf-8")
    {'q': 'calm', 'filter': {'sex': 'male'}}
    >>> parse_body(b"[1]", "application/json")
    Traceback (most recent call last):
    ...
    speechbrain_style.retrieval.service.RequestError: the JSON body must ...
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, "the body is not UTF-8") from e
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            fields = json.loads(text) if text.strip() else {}
        except ValueError as e:
            raise RequestError(400, f"the body is not JSON: {e}") from e
        if not isinstance(fields, dict):
            raise RequestError(400, "the JSON body must be an object")
        return fields
    params = parse_qs(text, keep_blank_values=True)
    fields = {key: values[-1] for key, values in params.items()}
    if "filter" in params:
        fields["filter"] = params["filter"]
    return fields


async def _read_body(request):
    """The request body, refused with a 413 past ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length")
    too_big = f"the request body has more than {MAX_BODY_BYTES} bytes"
    if declared is not None and declared.strip().isdigit():
        if int(declared) > MAX_BODY_BYTES:
            raise RequestError(
                413,
                f"the request body has {int(declared)} bytes (at most "
                f"{MAX_BODY_BYTES})",
            )
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise RequestError(413, too_big)
    return bytes(body)


def _allowed_methods(app, scope):
    """The methods of the routes whose path matches the request's."""
    methods = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return ", ".join(sorted(methods))


def create_app(service):
    """The search page's FastAPI app over a search service.

    Arguments
    ---------
    service : speechbrain_style.retrieval.service.StyleSearchService
        What the routes answer with (its ``close()`` is the caller's).

    Returns
    -------
    fastapi.FastAPI
        An ASGI app: run it with uvicorn (``speechbrain-style serve``) or
        call it with ``fastapi.testclient.TestClient``.

    Example
    -------
    >>> import torch
    >>> from fastapi.testclient import TestClient
    >>> from speechbrain_style.retrieval.index import StyleIndex
    >>> from speechbrain_style.retrieval.service import StyleSearchService
    >>> index = StyleIndex(torch.eye(2), [
    ...     {"id": "a", "wav": "a.wav"}, {"id": "b", "wav": "b.wav"}])
    >>> encode = lambda texts: torch.tensor([[0.0, 1.0]])
    >>> service = StyleSearchService(encode, index)
    >>> client = TestClient(create_app(service))
    >>> answer = client.get("/api/search", params={"q": "calm", "k": 1})
    >>> [hit["id"] for hit in answer.json()["results"]]
    ['b']
    >>> client.get("/api/search").json()["status"]
    400
    >>> service.close()
    """
    app = FastAPI(
        title="speechbrain-style search",
        version=__version__,
        description="Find speech by a description of how it is spoken. "
        'Errors are JSON {"error": message, "status": code}.',
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.service = service
    app.add_middleware(_SecurityHeaders)
    parameters, body = _search_fields(service)
    too_long = {
        413: {"model": ErrorAnswer, "description": "Query or body too long"}
    }

    @app.exception_handler(RequestError)
    async def request_error(request, error):
        """A RequestError of the service as the API's JSON."""
        return _error(error.status, error)

    @app.exception_handler(HTTPException)
    async def http_error(request, error):
        """Starlette's 404 and 405 as the API's JSON."""
        path = request.url.path
        headers = dict(error.headers or {})
        if error.status_code == 404:
            message = f"no page at {path}"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {path}"
            headers["Allow"] = _allowed_methods(app, request.scope)
        else:
            message = error.detail
        return _error(error.status_code, message, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request, error):
        """A request FastAPI could not read, as a 400."""
        return _error(400, f"bad request: {error.errors()}")

    @app.exception_handler(Exception)
    async def internal_error(request, error):
        """A 500 with the API's JSON (the traceback goes to the log)."""
        logger.error(
            "%s %s failed", request.method, request.url.path, exc_info=error
        )
        return _error(500, "internal error (see the server log)")

    def get(path, **options):
        """Registers a GET route, and HEAD on it (kept out of the schema)."""

        def register(endpoint):
            """Adds ``endpoint`` on GET and HEAD; returns it unchanged."""
            app.add_api_route(path, endpoint, methods=["GET"], **options)
            options["include_in_schema"] = False
            app.add_api_route(path, endpoint, methods=["HEAD"], **options)
            return endpoint

        return register

    @get("/", include_in_schema=False)
    @get("/index.html", include_in_schema=False)
    def page():
        """The search page, under its strict Content-Security-Policy."""
        return HTMLResponse(
            render_page(service.max_k, service.max_query_chars),
            headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
        )

    @get(
        "/api/search",
        response_class=JSONResponse,
        responses={200: {"model": SearchAnswer}, **_ERRORS, **too_long},
        openapi_extra={"parameters": parameters},
        summary="Search by a description",
    )
    def search_get(request: Request):
        """The top-k items for a description, with optional filters."""
        params = request.query_params
        return _JSONResponse(
            service.search(
                params.get("q", ""),
                k=params.get("k", DEFAULT_K),
                filters=params.getlist("filter"),
                fusion=params.get("fusion"),
            )
        )

    @app.post(
        "/api/search",
        response_class=JSONResponse,
        responses={200: {"model": SearchAnswer}, **_ERRORS, **too_long},
        openapi_extra={"requestBody": body},
        summary="Search by a description (form or JSON body)",
    )
    async def search_post(request: Request):
        """As GET, with the fields in a form-encoded or JSON body."""
        raw = await _read_body(request)
        fields = parse_body(raw, request.headers.get("content-type", ""))
        answer = await run_in_threadpool(
            service.search,
            fields.get("q", fields.get("query")),
            k=fields.get("k", DEFAULT_K),
            filters=fields.get("filter", fields.get("filters")),
            fusion=fields.get("fusion"),
        )
        return _JSONResponse(answer)

    @get(
        "/api/info",
        response_class=JSONResponse,
        responses={200: {"model": IndexInfo}},
        summary="Describe the index",
    )
    def info():
        """Item count, model fingerprint and filterable metadata fields."""
        return _JSONResponse(service.info())

    @get(
        "/audio/{row}",
        response_class=FileResponse,
        responses={
            200: {
                "content": {"audio/wav": {}},
                "description": "The item's audio (Range requests give 206)",
            },
            206: {"content": {"audio/wav": {}}, "description": "A range"},
            **_ERRORS,
            416: {"model": ErrorAnswer, "description": "Range not satisfiable"},
            500: {"model": ErrorAnswer, "description": "Unreadable audio"},
        },
        openapi_extra={"parameters": [_ROW_PARAMETER]},
        summary="The audio of an index row",
    )
    def audio(request: Request):
        """The audio of an index row as WAV, with HTTP Range (seeking)."""
        return _WavFileResponse(
            service.audio(request.path_params["row"]),
            media_type="audio/wav",
            headers={"Cache-Control": "no-cache"},
        )

    return app
