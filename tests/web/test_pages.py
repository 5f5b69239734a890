"""Sign-in, sign-out and the home page: cookies, CSRF, roles, failures."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from doorstep.api.app import create_app
from doorstep.service.accounts import set_disabled
from doorstep.store.database import transaction
from doorstep.web.pages import SIGN_IN_FAILED
from doorstep.web.sessions import COOKIE

from .conftest import PASSWORD, add_account, csrf_of, sign_in, web_settings


def _cookie_header(response_headers: list[str]) -> str:
    found = [h for h in response_headers if h.startswith(f"{COOKIE}=")]
    assert found, "no session cookie was set"
    return found[-1]


def test_home_sends_a_stranger_to_the_sign_in_form(web: TestClient) -> None:
    """Without a session, / redirects to /login, whose form has a CSRF field and labels."""
    r = web.get("/")
    assert r.status_code == 200 and r.url.path == "/login"
    assert csrf_of(r.text)
    assert '<label for="username">' in r.text and '<label for="password">' in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")


def test_the_session_cookie_is_httponly_lax_and_expires(web: TestClient) -> None:
    """The cookie set by the sign-in form: HttpOnly, SameSite=Lax, Max-Age; not Secure on http."""
    r = web.get("/login")
    cookie = _cookie_header(r.headers.get_list("set-cookie")).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    assert "secure" not in cookie


def test_the_cookie_is_secure_over_https(database_url: str) -> None:
    """Over https (or with session_cookie_secure) the session cookie is marked Secure."""
    app = create_app(web_settings(database_url))
    with TestClient(app, base_url="https://testserver") as client:
        cookie = _cookie_header(client.get("/login").headers.get_list("set-cookie"))
    assert "secure" in cookie.lower()
    app = create_app(web_settings(database_url, session_cookie_secure=True))
    with TestClient(app) as client:
        cookie = _cookie_header(client.get("/login").headers.get_list("set-cookie"))
    assert "secure" in cookie.lower()


def test_sign_in_shows_who_and_the_role(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """A planner signs in: the home page names them, their role, and links their pages."""
    add_account(sessions_of, "pia", "planner")
    r = sign_in(web, "Pia")  # usernames are case-insensitive
    assert r.status_code == 200 and r.url.path == "/"
    assert "Signed in as <strong>pia</strong>" in r.text and "(planner)" in r.text
    assert 'href="/planner"' in r.text and 'href="/kpis"' in r.text
    assert "Dispatch board" not in r.text  # not a planner's page
    assert 'href="/docs"' in r.text


def test_each_role_sees_its_own_pages(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A driver account sees only the driver page and is told whose routes it sees."""
    with transaction(sessions_of) as db:
        from doorstep.store import tables as t

        db.add(t.Driver(id="drv7", name="Ville"))
    add_account(sessions_of, "ville", "driver", driver_id="drv7")
    r = sign_in(web, "ville")
    assert "(driver)" in r.text and "driver <strong>drv7</strong>" in r.text
    assert "Driver page" in r.text
    assert "Planner" not in r.text and "Dispatch board" not in r.text and "/docs" not in r.text


def test_a_failed_sign_in_does_not_say_why(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Wrong password, unknown user and disabled account: the same 401 page and message."""
    add_account(sessions_of, "dora", "dispatcher")
    add_account(sessions_of, "olli", "dispatcher")
    with transaction(sessions_of) as db:
        set_disabled(db, "olli")
    answers = [
        sign_in(web, "dora", "wrong password!"),
        sign_in(web, "nobody", PASSWORD),
        sign_in(web, "olli", PASSWORD),
    ]
    for r in answers:
        assert r.status_code == 401 and r.url.path == "/login"
        assert SIGN_IN_FAILED in r.text and "Signed in as" not in r.text
    bodies = {r.text.replace(csrf_of(r.text), "") for r in answers}
    assert len(bodies) == 1


def test_posts_without_the_csrf_token_are_refused(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """Sign-in and sign-out without (or with a wrong) token: 403 page, nothing done."""
    add_account(sessions_of, "pia", "planner")
    web.get("/login")
    r = web.post("/login", data={"username": "pia", "password": PASSWORD})
    assert r.status_code == 403 and "Security check failed" in r.text
    r = web.post("/login", data={"username": "pia", "password": PASSWORD, "csrf_token": "x" * 43})
    assert r.status_code == 403
    home = sign_in(web, "pia")
    assert home.url.path == "/"
    r = web.post("/logout", data={})
    assert r.status_code == 403
    assert web.get("/").url.path == "/"  # still signed in
    r = web.post("/logout", headers={"X-CSRF-Token": csrf_of(home.text)})  # htmx's way
    assert r.status_code == 200 and r.url.path == "/login" and "You are signed out." in r.text
    assert web.get("/").url.path == "/login"


def test_a_post_from_a_stranger_without_a_session_is_refused(web: TestClient) -> None:
    """A form posted with no session cookie at all (another site's form) gets the 403 page."""
    web.cookies.clear()
    r = web.post("/login", data={"username": "x", "password": "y", "csrf_token": "z"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")


def test_the_session_is_renewed_at_sign_in(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """The CSRF token (and cookie) from before sign-in is not the one after it."""
    add_account(sessions_of, "pia", "planner")
    before = csrf_of(web.get("/login").text)
    after = csrf_of(sign_in(web, "pia").text)
    assert before != after


def test_disabling_an_account_ends_its_session(
    web: TestClient, sessions_of: sessionmaker[Session]
) -> None:
    """A signed-in account that is disabled is sent back to the sign-in form."""
    add_account(sessions_of, "pia", "planner")
    assert sign_in(web, "pia").url.path == "/"
    with transaction(sessions_of) as db:
        set_disabled(db, "pia")
    assert web.get("/").url.path == "/login"


def test_a_forged_cookie_is_ignored(web: TestClient, sessions_of: sessionmaker[Session]) -> None:
    """A session cookie altered by hand (or signed with another secret) is as good as none."""
    account_id = add_account(sessions_of, "pia", "planner")
    from doorstep.web.sessions import encode, new_session

    forged = encode(new_session(account_id, 3600), b"another secret, not the service's one")
    web.cookies.set(COOKIE, forged)
    assert web.get("/").url.path == "/login"
