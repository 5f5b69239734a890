"""People's accounts: password hashing, creation rules, authentication."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from doorstep.service import accounts
from doorstep.service.accounts import (
    ScryptCost,
    authenticate,
    create_account,
    hash_password,
    set_disabled,
    verify_password,
)
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.database import transaction

CHEAP = ScryptCost(n=2**10, r=8, p=1)
PASSWORD = "correct horse battery"


def test_a_hash_is_salted_and_verifies() -> None:
    """Two hashes of one password differ (random salt); each verifies it and nothing else."""
    one, two = hash_password(PASSWORD), hash_password(PASSWORD)
    assert one != two and one.startswith("scrypt$32768$8$3$")
    assert PASSWORD not in one
    assert verify_password(PASSWORD, one) and verify_password(PASSWORD, two)
    assert not verify_password("correct horse batterY", one)
    assert not verify_password("", one)


def test_malformed_hashes_never_match() -> None:
    """A stored value that is not an scrypt hash of ours does not match, and does not crash."""
    for stored in ("", "plain", "scrypt$1$2$3", "scrypt$x$8$1$AAAA$BBBB", "bcrypt$1$2$3$4$5"):
        assert not verify_password(PASSWORD, stored)
    assert not verify_password("x" * (accounts.MAX_PASSWORD + 1), hash_password("x", CHEAP))


def test_the_cost_travels_with_the_hash() -> None:
    """A hash made with other work factors still verifies (the factors are stored in it)."""
    stored = hash_password(PASSWORD, CHEAP)
    assert stored.startswith("scrypt$1024$8$1$") and verify_password(PASSWORD, stored)


def test_authenticate(sessions: sessionmaker[Session]) -> None:
    """Right password: the account; wrong password, unknown user, disabled: None alike."""
    with transaction(sessions) as db:
        created = create_account(db, "Pia", "planner", PASSWORD, display_name="Pia P", cost=CHEAP)
        assert (created.username, created.role, created.display_name) == ("pia", "planner", "Pia P")
        assert created.password_hash != PASSWORD and not created.disabled
    with transaction(sessions) as db:
        found = authenticate(db, " PIA ", PASSWORD)
        assert found is not None and found.id == created.id
        assert authenticate(db, "pia", "wrong horse battery") is None
        assert authenticate(db, "nobody", PASSWORD) is None
        set_disabled(db, "pia")
    with transaction(sessions) as db:
        assert authenticate(db, "pia", PASSWORD) is None
        assert accounts.active_account(db, created.id) is None
        set_disabled(db, "pia", False)
        assert authenticate(db, "pia", PASSWORD) is not None


@pytest.mark.parametrize(
    ("username", "role", "password", "driver_id", "code"),
    [
        ("a", "planner", PASSWORD, None, "invalid_username"),
        ("pia pia", "planner", PASSWORD, None, "invalid_username"),
        ("pia", "integration", PASSWORD, None, "invalid_role"),
        ("pia", "boss", PASSWORD, None, "invalid_role"),
        ("pia", "planner", "short", None, "weak_password"),
        ("pia", "driver", PASSWORD, None, "driver_account_needs_driver"),
        ("pia", "planner", PASSWORD, "drv1", "driver_account_needs_driver"),
        ("pia", "driver", PASSWORD, "no-such-driver", "unknown_driver"),
    ],
)
def test_creation_rules(
    sessions: sessionmaker[Session],
    username: str,
    role: str,
    password: str,
    driver_id: str | None,
    code: str,
) -> None:
    """Bad usernames, roles not for people, weak passwords and driver mismatches are refused."""
    with transaction(sessions) as db, pytest.raises(RefusedError) as caught:
        db.add(t.Driver(id="drv1"))
        create_account(db, username, role, password, driver_id=driver_id, cost=CHEAP)
    assert caught.value.code == code


def test_a_username_is_taken_once(sessions: sessionmaker[Session]) -> None:
    """A second account with the same username (any case) is a conflict."""
    with transaction(sessions) as db:
        create_account(db, "pia", "planner", PASSWORD, cost=CHEAP)
    with transaction(sessions) as db, pytest.raises(RefusedError) as caught:
        create_account(db, "PIA", "admin", PASSWORD, cost=CHEAP)
    assert caught.value.code == "username_taken" and caught.value.conflict


def test_a_driver_account_names_its_driver(sessions: sessionmaker[Session]) -> None:
    """A driver account is tied to an existing driver."""
    with transaction(sessions) as db:
        db.add(t.Driver(id="drv1"))
        db.flush()
        row = create_account(db, "ville", "driver", PASSWORD, driver_id="drv1", cost=CHEAP)
        assert row.driver_id == "drv1"
