"""API keys (admin only): create and revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, ConfigDict, Field

from doorstep.api.deps import Admin, Db, Id
from doorstep.api.problems import not_found, unknown_reference
from doorstep.api.security import Role, create_key
from doorstep.store import tables as t

router = APIRouter(prefix="/v1", tags=["keys"])


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")
    role: Role
    name: str = Field(default="", max_length=200)
    driver_id: Id | None = None
    tenant: Id | None = Field(
        default=None,
        description="The tenant (shop) an integration key works for; integration keys only. "
        "Left out, the new key is a tenant of its own (its id).",
    )


class KeyOut(BaseModel):
    """A key as stored (without its secret)."""

    model_config = ConfigDict(from_attributes=True)
    id: str
    role: Role
    name: str
    driver_id: str | None
    tenant: str | None
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyOut):
    """A new key, with its secret: shown this once."""

    key: str


@router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=NewKey)
def new_key(body: KeyIn, db: Db, _: Admin) -> NewKey:
    """Create a key; the response holds the secret, which is not stored.

    An integration key belongs to ``tenant`` (its own id when none is named):
    it sees only that tenant's orders, parcels, events and webhook messages.
    """
    if body.driver_id is not None and db.get(t.Driver, body.driver_id) is None:
        raise unknown_reference("driver", body.driver_id, "body.driver_id")
    secret, row = create_key(db, body.role, body.name, body.driver_id, body.tenant)
    return NewKey(key=secret, **KeyOut.model_validate(row).model_dump())


@router.delete("/keys/{key_id}", response_model=KeyOut)
def revoke_key(key_id: Annotated[str, Path(max_length=40)], db: Db, _: Admin) -> t.ApiKey:
    """Revoke a key at once."""
    row = db.get(t.ApiKey, key_id)
    if row is None:
        raise not_found("key", key_id)
    row.revoked_at = row.revoked_at or t.utcnow()
    return row
