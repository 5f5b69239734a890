"""Rendering pages: the Jinja2 templates, security headers, and error pages."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
"""Only the service's own files run or style a page: no inline script, no CDN."""

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Sent with every page. ``no-referrer``: a tracking link (its token is the credential)
never leaks to another site; ``no-store``: no page with personal data is cached."""


class PageError(Exception):
    """A request answered with an error page (as HTML, not problem+json).

    Parameters
    ----------
    status
        The HTTP status.
    title
        The page's heading.
    message
        What happened and what to do, for people.
    back
        Where the page's one link goes (``None``: no link; a customer's error
        page must not send them to the staff's sign-in).
    """

    def __init__(self, status: int, title: str, message: str, back: str | None = "/") -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.back = back


@cache
def environment() -> Environment:
    """The templates of ``doorstep/web/templates`` (HTML autoescaped)."""
    return Environment(
        loader=PackageLoader("doorstep.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(template: str, context: dict[str, Any]) -> str:
    """The HTML of ``template`` with ``context``."""
    return environment().get_template(template).render(**context)


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page rendered from ``template``, with :data:`SECURITY_HEADERS`.

    Parameters
    ----------
    request
        The request (templates see it as ``request``).
    template
        The template's name in ``web/templates``.
    context
        The template's variables; ``account`` and ``csrf`` drive the header.
    status
        The HTTP status.
    headers
        More headers.
    """
    values = {"request": request, "account": None, "csrf": None, **(context or {})}
    return HTMLResponse(
        render_text(template, values),
        status_code=status,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def secure_headers(response: Response) -> Response:
    """``response`` with :data:`SECURITY_HEADERS` (for redirects)."""
    response.headers.update(SECURITY_HEADERS)
    return response


async def error_page(request: Request, exc: Exception) -> Response:
    """The HTML page of a :class:`PageError` (the app's exception handler)."""
    assert isinstance(exc, PageError)
    context = {
        "title": exc.title,
        "message": exc.message,
        "status": exc.status,
        "back": exc.back,
        "home_href": exc.back or "/",
    }
    return page(request, "error.html", context, status=exc.status)
