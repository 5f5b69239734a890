"""Sign-in, sign-out and the home page of the people who run the depot.

Every unsafe request here (POST...) must carry the session's CSRF token, in the
``csrf_token`` form field or the ``X-CSRF-Token`` header (:func:`check_csrf`);
without it the answer is a 403 page and nothing happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from doorstep.api.deps import Db
from doorstep.api.security import Role
from doorstep.service import accounts
from doorstep.settings import Settings
from doorstep.store import tables as t
from doorstep.web.render import PageError, page, secure_headers
from doorstep.web.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    WebSession,
    clear_session_cookie,
    new_session,
    read_session,
    same_token,
    set_session_cookie,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSRF_REFUSED = (
    "This form did not carry a valid security token: it may have been open too long, or "
    "been sent from another site. Nothing was changed. Go back, reload the page and try again."
)
SIGN_IN_FAILED = "Wrong username or password, or the account is disabled."
"""One message for every failed sign-in: it never tells whether the username exists."""


async def check_csrf(request: Request) -> None:
    """Refuse (403 page) an unsafe request without the session's CSRF token.

    Raises
    ------
    PageError
        403: no session, or a token missing or different from the session's.
    """
    if request.method in SAFE_METHODS:
        return
    session = read_session(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if session is None or not same_token(sent, session.csrf):
        raise PageError(403, "Security check failed", CSRF_REFUSED)


router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])


@dataclass(frozen=True, slots=True)
class Link:
    """A page a role may use on the home page; ``href`` is ``None`` while it is not built."""

    title: str
    description: str
    href: str | None = None


_PLANNER = Link(
    "Planner", "Upload the day's orders, fix them, plan and publish routes.", "/planner"
)
_DISPATCH = Link(
    "Dispatch board", "Watch the day's routes, exceptions and proposals live.", "/dispatch"
)
_DRIVER = Link("Driver page", "Today's route in order, with proof of delivery.", "/driver")
_KPIS = Link(
    "KPI dashboard", "The charts of the KPI report, by day, depot, driver and area.", "/kpis"
)
_ACCOUNTS = Link("Accounts", "Add and disable accounts (for now: doorstep accounts add).")
_API = Link("API documentation", "The JSON API, for integrations (needs an API key).", "/docs")

LINKS: dict[Role, tuple[Link, ...]] = {
    Role.ADMIN: (_PLANNER, _DISPATCH, _DRIVER, _KPIS, _ACCOUNTS, _API),
    Role.PLANNER: (_PLANNER, _KPIS, _API),
    Role.DISPATCHER: (_DISPATCH, _KPIS, _API),
    Role.DRIVER: (_DRIVER,),
}
"""What each role may use, in the order the home page lists it."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def signed_in(request: Request, db: Db) -> t.Account | None:
    """The signed-in account (a valid session whose account is not disabled), or ``None``."""
    session = read_session(request)
    if session is None or session.account_id is None:
        return None
    return accounts.active_account(db, session.account_id)


Account = Annotated[t.Account | None, Depends(signed_in)]


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    secure_headers(response)
    return response


def _login_page(
    request: Request, session: WebSession, *, error: str = "", notice: str = "", status: int = 200
) -> Response:
    response = page(
        request,
        "login.html",
        {"csrf": session.csrf, "error": error, "notice": notice, "title": "Sign in"},
        status=status,
    )
    set_session_cookie(response, request, session)
    return response


@router.get("/login")
def login_form(request: Request, account: Account, out: str = "") -> Response:
    """The sign-in form (a session is started for its CSRF token); signed in: the home page."""
    if account is not None:
        return _redirect("/")
    session = read_session(request)
    if session is None or session.account_id is not None:
        session = new_session(None, _settings(request).session_max_age_s)
    return _login_page(request, session, notice="You are signed out." if out == "1" else "")


@router.post("/login")
def login(
    request: Request,
    db: Db,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=accounts.MAX_PASSWORD)] = "",
) -> Response:
    """Check the username and password; on success a new session, then the home page.

    A failure answers 401 with the form and one message whatever went wrong.
    The session (and its CSRF token) is replaced on success, so a token or a
    cookie planted before sign-in is worth nothing after it.
    """
    account = accounts.authenticate(db, username, password) if username and password else None
    max_age = _settings(request).session_max_age_s
    if account is None:
        session = read_session(request) or new_session(None, max_age)
        return _login_page(request, session, error=SIGN_IN_FAILED, status=401)
    response = _redirect("/")
    set_session_cookie(response, request, new_session(account.id, max_age))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session (the cookie is dropped) and show the sign-in form."""
    response = _redirect("/login?out=1")
    clear_session_cookie(response, request)
    return response


@router.get("/")
def home(request: Request, account: Account) -> Response:
    """Who is signed in, and the pages their role may use (those not built yet say so)."""
    if account is None:
        return _redirect("/login")
    session = read_session(request)
    assert session is not None
    role = Role(account.role)
    context = {
        "account": account,
        "csrf": session.csrf,
        "links": LINKS[role],
        "title": "Home",
    }
    return page(request, "home.html", context)
