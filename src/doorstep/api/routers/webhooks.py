"""(being written) webhooks endpoints."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["webhooks"])
