"""Errors as ``application/problem+json`` (RFC 9457), each with a stable ``code``.

Every error the API returns has the same shape::

    {"type": "https://doorstep.dev/problems/validation", "title": "Invalid request",
     "status": 422, "code": "validation", "detail": "...",
     "errors": [{"field": "body.orders[3].lat", "message": "..."}]}

``type`` is built from ``code``; clients should branch on ``code``. Unexpected
failures are a 500 with code ``internal`` and no traceback in the body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # FastAPI before lazily included routers
    iter_route_contexts = None  # type: ignore[assignment]

from doorstep.errors import DomainError, DoorstepError, InputError
from doorstep.service.refusal import RefusedError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://doorstep.dev/problems/"

log = logging.getLogger("doorstep.api")

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid request",
    500: "Internal error",
    503: "Service busy",
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_format",
}
"""Stable codes of the errors Starlette and FastAPI raise themselves."""

RETRY_AFTER_S = 1
"""What a 503 ``database_busy`` tells the client to wait before trying again."""


class ProblemField(BaseModel):
    """One refused field of a request."""

    model_config = ConfigDict(extra="allow")
    field: str = Field(description="Where: ``body.orders[3].lat``, ``query.status``...")
    message: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """An error (RFC 9457 problem details); branch on ``code``."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(description="A URI built from ``code``.")
    title: str = Field(description="The HTTP status in words.")
    status: int = Field(description="The HTTP status.")
    code: str = Field(description="The stable code: ``validation``, ``not_found``...")
    detail: str = Field(description="What went wrong and what to do, for a person.")
    errors: list[ProblemField] | None = Field(
        default=None, description="The refused fields, when the request's fields are at fault."
    )


class ProblemError(RefusedError):
    """A refusal with its HTTP status: sent as a problem document.

    The service's rules raise :class:`~doorstep.service.refusal.RefusedError`
    (422, or 409 for a conflict); the API raises this where the status is its
    own (404, 413, 415, 503...).

    Parameters
    ----------
    status
        HTTP status (409 makes it a conflict).
    code, detail, errors
        The refusal's code, sentence and per-field errors
        (:class:`~doorstep.service.refusal.RefusedError`'s ``code``, ``message``
        and ``errors``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(code, detail, errors=errors or (), conflict=status == 409)
        self.status = status
        self.detail = detail


def not_found(what: str, ident: str) -> ProblemError:
    """A 404 naming the missing resource."""
    return ProblemError(404, "not_found", f"No {what} with id {ident!r}.")


def unknown_reference(what: str, ident: str, field: str) -> ProblemError:
    """A 422 ``unknown_<what>``: the request names a ``what`` that does not exist."""
    return ProblemError(
        422,
        f"unknown_{what}",
        f"{what.capitalize()} {ident!r} does not exist; create it first.",
        [{"field": field, "message": f"unknown {what}"}],
    )


@contextmanager
def refused_as(code: str, field: str) -> Iterator[None]:
    """Turn a :class:`DomainError` raised inside into a 422 ``code`` naming ``field``.

    The API builds domain objects from a request to validate it; this names the
    request field whose value the domain refused.

    Parameters
    ----------
    code
        The problem's stable code (``order_invalid``, ``break_invalid``...).
    field
        The refused field as the problem names it (``body.break_s``).

    Raises
    ------
    ProblemError
        Instead of the domain's error.
    """
    try:
        yield
    except DomainError as exc:
        raise ProblemError(
            422, code, f"{field}: {exc}", [{"field": field, "message": str(exc)}]
        ) from exc


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The problem document as a response (``headers``: ``Allow``, ``Retry-After``...)."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    out = ""
    for part in location:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed(request: Request) -> str:
    """Every method some route of the app answers on this request's path (``Allow``).

    Starlette names only the methods of the first route matching the path;
    ``/v1/orders`` is two routes (GET and POST).
    """
    routes: Iterable[Any] = request.app.routes
    if iter_route_contexts is not None:  # FastAPI's lazily included routers
        routes = iter_route_contexts(request.app.routes)
    methods: set[str] = set()
    for route in routes:
        path, allowed = getattr(route, "path", None), getattr(route, "methods", None)
        if path and allowed and compile_path(path)[0].match(request.url.path):
            methods |= set(allowed)
    return ", ".join(sorted(methods))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, exc.errors)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors[:5])
        return problem_response(
            422, "validation", f"The request does not match the schema ({fields}).", errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed(request)
        return problem_response(exc.status_code, code, str(exc.detail), headers=headers or None)

    @app.exception_handler(PoolTimeoutError)
    async def _busy(request: Request, exc: PoolTimeoutError) -> JSONResponse:
        # Every database connection stayed in use for the whole pool timeout.
        log.warning("no database connection free for %s %s", request.method, request.url.path)
        return problem_response(
            503,
            "database_busy",
            "The database is busy: no connection became free in time. Try again shortly.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        return problem_response(422, exc.code, str(exc))

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(422, exc.code, str(exc))

    @app.exception_handler(RefusedError)
    async def _refused(request: Request, exc: RefusedError) -> JSONResponse:
        return problem_response(409 if exc.conflict else 422, exc.code, exc.message, exc.errors)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the schema allows (a NUL character in text,
        # a number out of its column's range): the request's fault, and nothing was written.
        log.info(
            "database refused a value on %s %s: %s", request.method, request.url.path, exc.orig
        )
        return problem_response(
            422,
            "value_not_storable",
            "A value in the request cannot be stored (for example a NUL character in text).",
        )

    @app.exception_handler(DoorstepError)
    async def _doorstep(request: Request, exc: DoorstepError) -> JSONResponse:
        log.error("doorstep error on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(500, exc.code, "The service failed; the error was logged.")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal", "The service failed; the error was logged.")
