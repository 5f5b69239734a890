"""Signed session cookies and CSRF tokens for the web pages.

A session lives in one cookie, ``doorstep_session``: a small JSON payload (the
account's id or none, the session's CSRF token, its expiry) and an HMAC-SHA256
of it, both base64url. Nothing is stored on the server; a cookie whose
signature or expiry fails is ignored as if absent. The cookie is ``HttpOnly``
(no script reads it), ``SameSite=Lax`` (not sent with another site's form
posts) and ``Secure`` whenever the request came over https, or always with the
``session_cookie_secure`` setting.

CSRF: every form carries the session's token in a hidden ``csrf_token`` field,
and pages put it in ``<meta name="csrf-token">`` and in htmx's ``hx-headers``
(``X-CSRF-Token``); every unsafe request to the signed-in pages must send it
back. The tracking page's form has no session: its token is an HMAC of the
tracking token and the time it was issued (:func:`tracking_csrf`).

The signing secret is the ``session_secret`` setting; unset, it is generated
once and kept beside a SQLite file (``<file>.session-secret``, mode 0600), or
random per process for an in-memory database; PostgreSQL needs the setting.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import Response

from doorstep.settings import Settings

COOKIE = "doorstep_session"
"""The session cookie's name."""
CSRF_FIELD = "csrf_token"
"""The hidden form field that carries the CSRF token."""
CSRF_HEADER = "X-CSRF-Token"
"""The header htmx sends the CSRF token in."""
TRACKING_CSRF_MAX_AGE_S = 24 * 3600
"""How long a tracking page's form stays good after the page was served."""
SECRET_SUFFIX = ".session-secret"


class SecretMissingError(RuntimeError):
    """The web pages cannot sign anything: no ``session_secret`` for this database."""


@dataclass(frozen=True, slots=True)
class WebSession:
    """What a session cookie says.

    Attributes
    ----------
    account_id
        The signed-in account; ``None`` before sign-in (a session kept only for
        the sign-in form's CSRF token).
    csrf
        The session's CSRF token.
    expires
        When the session ends (seconds since the epoch).
    """

    account_id: str | None
    csrf: str
    expires: int


def new_session(account_id: str | None, max_age_s: int, now: float | None = None) -> WebSession:
    """A fresh session (a new CSRF token) for ``account_id``, ending ``max_age_s`` from now."""
    moment = time.time() if now is None else now
    return WebSession(account_id, secrets.token_urlsafe(32), int(moment) + max_age_s)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: bytes, purpose: str) -> bytes:
    """A key of its own for each use of the secret."""
    return hmac.new(secret, f"doorstep/{purpose}".encode(), hashlib.sha256).digest()


def encode(session: WebSession, secret: bytes) -> str:
    """The cookie value of ``session``, signed with ``secret``."""
    payload = json.dumps(
        {"a": session.account_id, "c": session.csrf, "e": session.expires},
        separators=(",", ":"),
    ).encode()
    signature = hmac.new(_key(secret, "session"), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def decode(value: str, secret: bytes, now: float | None = None) -> WebSession | None:
    """The session a cookie value holds; ``None`` if it is forged, malformed or expired.

    Parameters
    ----------
    value
        The cookie as sent.
    secret
        The signing secret.
    now
        The time to check the expiry against (default: now).
    """
    head, _, tail = value.partition(".")
    try:
        payload, signature = _unb64(head), _unb64(tail)
    except ValueError:
        return None
    expected = hmac.new(_key(secret, "session"), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        data: Any = json.loads(payload)
        account_id, csrf, expires = data["a"], data["c"], data["e"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(csrf, str) or not isinstance(expires, int):
        return None
    if account_id is not None and not isinstance(account_id, str):
        return None
    if expires <= (time.time() if now is None else now):
        return None
    return WebSession(account_id, csrf, expires)


def _secret_file(settings: Settings) -> Path | None:
    """Where a generated secret is kept: beside the SQLite file (``None``: in memory)."""
    url = make_url(settings.database_url)
    database = url.database
    if database is None or database in ("", ":memory:") or "mode=memory" in str(url):
        return None
    return Path(database + SECRET_SUFFIX)


def _kept_secret(path: Path) -> bytes:
    """The secret in ``path``, written there first (mode 0600) if it does not exist yet.

    The new file is written aside and linked into place, which fails if another
    worker got there first: every worker then reads the same secret.
    """
    if not path.exists():
        aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            aside.unlink()
    text = path.read_text().strip()
    if len(text) < 32:
        raise SecretMissingError(f"{path} holds no usable secret; delete it to make a new one.")
    return text.encode()


def resolve_secret(settings: Settings) -> bytes:
    """The secret that signs sessions and form tokens (see the module's docstring).

    Raises
    ------
    SecretMissingError
        No ``session_secret`` on a database other than SQLite.
    """
    if settings.session_secret:
        return settings.session_secret.encode()
    if make_url(settings.database_url).get_backend_name() != "sqlite":
        raise SecretMissingError(
            "The web pages need a signing secret: set DOORSTEP_SESSION_SECRET (or "
            "session_secret in doorstep.toml) to at least 32 random characters, the same "
            "for every worker, for example from: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'."
        )
    path = _secret_file(settings)
    return secrets.token_bytes(32) if path is None else _kept_secret(path)


def app_secret(request: Request) -> bytes:
    """The app's signing secret, resolved once and kept in its state.

    Raises
    ------
    SecretMissingError
        See :func:`resolve_secret`.
    """
    state = request.app.state
    secret: bytes | None = getattr(state, "web_secret", None)
    if secret is None:
        secret = resolve_secret(state.settings)
        state.web_secret = secret
    return secret


def read_session(request: Request) -> WebSession | None:
    """The request's valid session, or ``None``."""
    value = request.cookies.get(COOKIE)
    if not value:
        return None
    return decode(value, app_secret(request))


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.session_cookie_secure or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, session: WebSession) -> None:
    """Send ``session`` as the session cookie (HttpOnly, SameSite=Lax, Secure over https)."""
    response.set_cookie(
        COOKIE,
        encode(session, app_secret(request)),
        max_age=max(0, session.expires - int(time.time())),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))


def same_token(sent: str | None, expected: str) -> bool:
    """Whether a CSRF token sent equals the expected one (constant time)."""
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


def tracking_csrf(secret: bytes, token: str, now: float | None = None) -> str:
    """The tracking form's CSRF token: when it was issued, and an HMAC binding it to ``token``."""
    issued = str(int(time.time() if now is None else now))
    mac = hmac.new(_key(secret, "tracking"), f"{token}|{issued}".encode(), hashlib.sha256)
    return f"{issued}.{_b64(mac.digest())}"


def tracking_csrf_ok(secret: bytes, token: str, sent: str | None, now: float | None = None) -> bool:
    """Whether ``sent`` is a tracking form token for ``token`` issued in the last 24 hours."""
    if not sent:
        return False
    issued, _, _ = sent.partition(".")
    if not issued.isdigit():
        return False
    moment = time.time() if now is None else now
    if not 0 <= moment - int(issued) <= TRACKING_CSRF_MAX_AGE_S:
        return False
    expected = tracking_csrf(secret, token, int(issued))
    return hmac.compare_digest(sent.encode(), expected.encode())
