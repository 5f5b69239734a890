"""The web pages: sign-in for people, the customer's tracking page (docs/web.md).

Server-rendered Jinja2 templates (``web/templates``), static files served from
the package (``web/static`` at ``/static``; the vendored Leaflet at
``/static/vendor/leaflet``), htmx vendored: no CDN, nothing fetched at run time.
:func:`install` adds all of it to the service.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from doorstep.web import dispatch_board, driver, kpi_pages, pages, planner, tracking
from doorstep.web.render import PageError, error_page, page
from doorstep.web.sessions import SecretMissingError

STATIC = "/static"
"""Where ``web/static`` is served."""
LEAFLET = "/static/vendor/leaflet"
"""Where the vendored Leaflet (``doorstep/data/vendor/leaflet``) is served."""


async def _no_secret(request: Request, exc: Exception) -> Response:
    """The page shown when no signing secret can be had (PostgreSQL without the setting)."""
    context = {"title": "Sign-in is not configured", "message": str(exc), "back": None}
    return page(request, "error.html", context, status=503)


def install(app: FastAPI) -> None:
    """Add the web pages, their error pages and their static files to ``app``.

    Parameters
    ----------
    app
        The service (:func:`doorstep.api.app.create_app`); its tracking router
        must be included, as the tracking page uses its threads and connections.
    """
    app.include_router(pages.router)
    app.include_router(tracking.router)
    app.include_router(planner.router)
    app.include_router(dispatch_board.router)
    app.include_router(driver.router)
    app.include_router(kpi_pages.router)
    app.add_exception_handler(PageError, error_page)
    app.add_exception_handler(SecretMissingError, _no_secret)
    app.mount(LEAFLET, StaticFiles(packages=[("doorstep", "data/vendor/leaflet")]), name="leaflet")
    app.mount(STATIC, StaticFiles(packages=[("doorstep.web", "static")]), name="static")


__all__ = ["install"]
