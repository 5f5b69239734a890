"""Placeholder: the planner pages (issue 18), being built."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from doorstep.web.pages import check_csrf

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_csrf)])
