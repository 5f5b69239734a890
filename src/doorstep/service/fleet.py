"""The rules of the fleet: a vehicle is stored only as the planner can build it.

``POST /v1/vehicles`` and the planner page's fleet table both check a vehicle
with :func:`check_vehicle` (a :class:`~doorstep.service.refusal.RefusedError`
naming the field the domain refuses), and the page changes a stored vehicle's
shift, capacity and break with :func:`update_vehicle`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from doorstep.domain.fleet import check_shift
from doorstep.domain.time_window import TimeWindow
from doorstep.errors import DomainError
from doorstep.service.refusal import RefusedError
from doorstep.store import tables as t
from doorstep.store.convert import to_break, to_vehicle

EDITABLE = (
    "shift_start_s",
    "shift_end_s",
    "capacity_parcels",
    "capacity_g",
    "capacity_ml",
    "break_start_s",
    "break_end_s",
    "break_s",
)
"""What :func:`update_vehicle` may change."""


@contextmanager
def _refused_as(code: str, field: str) -> Iterator[None]:
    """Turn a :class:`DomainError` raised inside into a refusal ``code`` naming ``field``."""
    try:
        yield
    except DomainError as exc:
        raise RefusedError(
            code, f"{field}: {exc}", errors=[{"field": field, "message": str(exc)}]
        ) from exc


def check_vehicle(row: t.Vehicle, prefix: str = "body.") -> None:
    """Refuse a vehicle the planner could not build.

    Parameters
    ----------
    row
        The vehicle as it would be stored.
    prefix
        Put before a field's name in the refusal (the API's ``body.``).

    Raises
    ------
    RefusedError
        ``shift_invalid`` (the shift's end), ``break_incomplete`` (some break
        fields but not all three), ``break_invalid`` (the window: its end; the
        length: ``break_s``; a break that cannot be taken during the shift: its
        start) or ``vehicle_invalid``.
    """
    with _refused_as("shift_invalid", f"{prefix}shift_end_s"):
        shift = TimeWindow(row.shift_start_s, row.shift_end_s)
        check_shift(shift)
    breaks = (row.break_start_s, row.break_end_s, row.break_s)
    if any(b is not None for b in breaks) and any(b is None for b in breaks):
        raise RefusedError(
            "break_incomplete",
            "A break needs break_start_s, break_end_s and break_s together.",
            errors=[
                {"field": f"{prefix}break_s", "message": "give all three break fields or none"}
            ],
        )
    if row.break_start_s is not None and row.break_end_s is not None:
        with _refused_as("break_invalid", f"{prefix}break_end_s"):
            TimeWindow(row.break_start_s, row.break_end_s)
    with _refused_as("break_invalid", f"{prefix}break_s"):
        brk = to_break(row)
    if brk is not None:
        with _refused_as("break_invalid", f"{prefix}break_start_s"):
            brk.check_within(shift)
    with _refused_as("vehicle_invalid", prefix.rstrip(".") or "vehicle"):
        to_vehicle(row)


def update_vehicle(db: Session, vehicle_id: str, changes: dict[str, Any]) -> t.Vehicle:
    """Change a stored vehicle's shift, capacity or break, checked as a new one is.

    Parameters
    ----------
    db
        A session; nothing is changed when the vehicle is refused.
    vehicle_id
        The vehicle.
    changes
        New values of fields among :data:`EDITABLE` (a break field ``None``: no break).

    Returns
    -------
    Vehicle
        The row, changed (flushed).

    Raises
    ------
    RefusedError
        ``unknown_vehicles`` for a vehicle that does not exist, a refusal of
        :func:`check_vehicle` (fields named without a prefix), or
        ``field_not_editable``.
    """
    row = db.get(t.Vehicle, vehicle_id)
    if row is None:
        raise RefusedError("unknown_vehicles", f"No vehicle with id {vehicle_id!r}.")
    stray = sorted(set(changes) - set(EDITABLE))
    if stray:
        raise RefusedError("field_not_editable", f"These fields cannot be changed: {stray}.")
    values = {c.key: getattr(row, c.key) for c in t.Vehicle.__table__.columns}
    values.pop("created_at", None)
    candidate = t.Vehicle(**(values | changes))
    check_vehicle(candidate, prefix="")
    for name, value in changes.items():
        setattr(row, name, value)
    db.flush()
    return row
