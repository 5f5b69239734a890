"""People's accounts: who may sign in to the web pages, with which role.

A password is stored as an scrypt hash (``hashlib.scrypt``, a random 16-byte
salt per password), written ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` so the cost can
be raised later without breaking the hashes already stored. Checking compares
in constant time, and an unknown username costs the same scrypt as a known one,
so the time of an answer tells nothing about which usernames exist.

Roles are the API's depot roles (:class:`doorstep.api.security.Role`) but
``integration``, which is for a shop's systems, not for people.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import cache

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from doorstep.api.security import Role
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.queries import accounts as q

PERSON_ROLES = (Role.ADMIN, Role.PLANNER, Role.DISPATCHER, Role.DRIVER)
"""The roles an account may have."""

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
"""2 to 64 characters: lower-case letters, digits, ``.``, ``_``, ``-``; a letter or digit first."""
MIN_PASSWORD = 10
"""Shortest password accepted (characters)."""
MAX_PASSWORD = 1024
"""Longest password accepted: longer input is refused before it is hashed."""


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's work factors (OWASP's minimum: ``n=2**15, r=8, p=3``).

    Attributes
    ----------
    n, r, p
        CPU/memory cost (a power of two), block size, parallelism. Memory
        used is ``128 * n * r`` bytes (32 MiB by default).
    """

    n: int = 2**15
    r: int = 8
    p: int = 3


DEFAULT_COST = ScryptCost()
_DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=256 * cost.n * cost.r,
        dklen=_DKLEN,
    )


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """The stored form of ``password``: ``scrypt$n$r$p$salt$hash`` (base64url, no padding).

    Parameters
    ----------
    password
        The password as typed.
    cost
        scrypt's work factors; the default suits a sign-in (about 0.3 s).
    """
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches the stored hash (compared in constant time).

    Parameters
    ----------
    password
        The password as typed.
    stored
        A value of :func:`hash_password`; anything else never matches.
    """
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or len(password) > MAX_PASSWORD:
        return False
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    return hmac.compare_digest(_scrypt(password, salt, cost), expected)


@cache
def _dummy_hash() -> str:
    """Checked against when the username is unknown, so that answer takes as long."""
    return hash_password(secrets.token_urlsafe(16))


def normalise_username(username: str) -> str:
    """The stored form of a username: stripped, lower case."""
    return username.strip().lower()


def create_account(
    db: Session,
    username: str,
    role: Role | str,
    password: str,
    *,
    display_name: str = "",
    driver_id: str | None = None,
    cost: ScryptCost = DEFAULT_COST,
) -> t.Account:
    """Make an account (flushed in ``db``'s transaction).

    Parameters
    ----------
    db
        A session in a transaction.
    username
        How the person signs in (stored lower case; see :data:`USERNAME_PATTERN`).
    role
        One of :data:`PERSON_ROLES`.
    password
        At least :data:`MIN_PASSWORD` characters; only its hash is stored.
    display_name
        How pages name the person (default: the username).
    driver_id
        The driver a driver account is: needed for a driver, refused for the others.
    cost
        scrypt's work factors.

    Returns
    -------
    Account
        The stored row.

    Raises
    ------
    RefusedError
        ``invalid_username``, ``invalid_role``, ``weak_password``,
        ``driver_account_needs_driver``, ``unknown_driver``, or
        ``username_taken`` (a conflict).
    """
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise RefusedError(
            "invalid_username",
            f"Username {username!r} is not valid: 2 to 64 characters among a-z, 0-9, "
            "'.', '_' and '-', starting with a letter or digit.",
        )
    try:
        chosen = Role(role)
    except ValueError:
        chosen = None
    if chosen not in PERSON_ROLES:
        names = ", ".join(r.value for r in PERSON_ROLES)
        raise RefusedError("invalid_role", f"Role {role!r} is not for people; use one of: {names}.")
    assert chosen is not None
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise RefusedError(
            "weak_password",
            f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters; "
            "a phrase of a few words is easy to remember.",
        )
    if (chosen is Role.DRIVER) != (driver_id is not None):
        raise RefusedError(
            "driver_account_needs_driver",
            "A driver account needs the driver's id (it sees only that driver's routes), "
            "and only driver accounts have one.",
        )
    if driver_id is not None and not q.driver_exists(db, driver_id):
        raise RefusedError(
            "unknown_driver", f"There is no driver {driver_id!r}; add the driver first."
        )
    if q.username_taken(db, name):
        raise RefusedError("username_taken", f"Username {name!r} is taken.", conflict=True)
    row = t.Account(
        id="acc_" + secrets.token_hex(8),
        username=name,
        display_name=display_name.strip() or name,
        role=chosen.value,
        driver_id=driver_id,
        password_hash=hash_password(password, cost),
        disabled=False,
    )
    try:
        return q.add_account(db, row)
    except IntegrityError:  # taken in between by another transaction (this one is spoilt)
        raise RefusedError(
            "username_taken", f"Username {name!r} is taken.", conflict=True
        ) from None


def authenticate(db: Session, username: str, password: str) -> t.Account | None:
    """The account whose username and password these are, or ``None``.

    ``None`` alike for an unknown username, a wrong password and a disabled
    account, and with the same scrypt work for each: the caller cannot tell
    which, so neither can someone guessing usernames.

    Parameters
    ----------
    db
        A session.
    username, password
        As typed on the sign-in form.
    """
    row = q.account_by_username(db, normalise_username(username))
    matches = verify_password(password, row.password_hash if row else _dummy_hash())
    if row is None or not matches or row.disabled:
        return None
    return row


def active_account(db: Session, account_id: str) -> t.Account | None:
    """The account ``account_id`` if it exists and is not disabled (a session's check)."""
    row = q.account_by_id(db, account_id)
    return None if row is None or row.disabled else row


def set_disabled(db: Session, username: str, disabled: bool = True) -> t.Account:
    """Disable (or enable again) an account; a disabled one's sessions stop working.

    Raises
    ------
    RefusedError
        ``unknown_account`` when no account has this username.
    """
    row = q.account_by_username(db, normalise_username(username))
    if row is None:
        raise RefusedError("unknown_account", f"There is no account {username!r}.")
    row.disabled = disabled
    db.flush()
    return row
