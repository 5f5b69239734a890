"""Queries on people's accounts (the web pages' sign-in)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from doorstep.store import tables as t


def account_by_username(db: Session, username: str) -> t.Account | None:
    """The account named ``username`` (already lower case), or ``None``."""
    return db.scalars(select(t.Account).where(t.Account.username == username)).first()


def account_by_id(db: Session, account_id: str) -> t.Account | None:
    """The account ``account_id``, or ``None``."""
    return db.get(t.Account, account_id)


def username_taken(db: Session, username: str) -> bool:
    """Whether an account named ``username`` exists."""
    return account_by_username(db, username) is not None


def driver_exists(db: Session, driver_id: str) -> bool:
    """Whether the driver ``driver_id`` exists."""
    return db.get(t.Driver, driver_id) is not None


def all_accounts(db: Session) -> Sequence[t.Account]:
    """Every account, by username."""
    return db.scalars(select(t.Account).order_by(t.Account.username)).all()


def add_account(db: Session, row: t.Account) -> t.Account:
    """Store ``row`` (flushed, so a clash with an existing username raises now)."""
    db.add(row)
    db.flush()
    return row
