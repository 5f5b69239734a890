"""What an identifier may look like: one rule for the API, the readers and the gate.

An id (of an order, depot, vehicle or driver) is 1 to :data:`ID_MAX_LENGTH`
characters from ``A-Z a-z 0-9 . _ : -``. Ids appear in URL paths
(``/v1/orders/{order_id}``, ``/v1/routes/{plan_id}-{vehicle_id}``) and in file
names, so ``/``, spaces, ``#``, ``?`` and ``%`` are refused: an id the service
accepts can always be addressed, planned and exported.

A parcel id follows the same characters with room for the default
``<order id>-<k>`` (:data:`PARCEL_ID_MAX_LENGTH`). A scan event's id is the
client's idempotency key, never part of a path: any text up to
:data:`EVENT_ID_MAX_LENGTH` characters.
"""

from __future__ import annotations

import re

from doorstep.domain.finding import Finding, Severity
from doorstep.errors import DomainError

ID_CHARACTERS = "A-Za-z0-9._:-"
"""The characters of an id, as a regular-expression character class body."""
ID_MAX_LENGTH = 100
"""Longest order, depot, vehicle or driver id."""
PARCEL_ID_MAX_LENGTH = 120
"""Longest parcel id: an order id, ``-`` and a parcel number up to 10,000 fit."""
EVENT_ID_MAX_LENGTH = 120
"""Longest scan-event id (free text: the client's idempotency key)."""
ID_PATTERN = rf"^[{ID_CHARACTERS}]+$"
"""The pattern a whole id matches (length is checked apart)."""
ID_RULE = (
    f"1 to {ID_MAX_LENGTH} characters, each a letter A-Z or a-z, a digit, '.', '_', ':' or '-'"
)
"""The rule in words, for error messages and documentation."""

_ID = re.compile(rf"[{ID_CHARACTERS}]+")  # fullmatch: "$" would let a final newline in


def id_problem(value: str, max_length: int = ID_MAX_LENGTH) -> str | None:
    """Say what is wrong with ``value`` as an id, or ``None`` when it is a valid id.

    Parameters
    ----------
    value
        The candidate id.
    max_length
        Its longest allowed length (:data:`PARCEL_ID_MAX_LENGTH` for parcels).

    Returns
    -------
    str or None
        A sentence naming the problem (empty, too long, or the first character
        not allowed), or ``None``.
    """
    if not value:
        return "an id cannot be empty"
    if len(value) > max_length:
        return f"id {value[:20]!r}... is {len(value)} characters long; the limit is {max_length}"
    if _ID.fullmatch(value) is None:
        bad = next(c for c in value if _ID.fullmatch(c) is None)
        return (
            f"id {value!r} contains {bad!r}; an id uses only letters A-Z a-z, digits, "
            "'.', '_', ':' and '-'"
        )
    return None


def is_valid_id(value: str, max_length: int = ID_MAX_LENGTH) -> bool:
    """Whether ``value`` is a valid id: :func:`id_problem` finds nothing wrong with it.

    Returns
    -------
    bool
        ``True`` when the service, the readers and the gate all accept it.
    """
    return id_problem(value, max_length) is None


def check_id(value: str, max_length: int = ID_MAX_LENGTH) -> str:
    """Return ``value`` if it is a valid id (arguments as for :func:`id_problem`).

    Returns
    -------
    str
        ``value`` itself.

    Raises
    ------
    DomainError
        When it is not a valid id; the message says why.
    """
    problem = id_problem(value, max_length)
    if problem is not None:
        raise DomainError(problem)
    return value


def id_finding(
    value: str, row: int, field: str, code: str, source: str = "orders"
) -> Finding | None:
    """The error a reader reports for a row whose id the service would refuse.

    An empty id is left to the gate's own ``..._id_missing`` rules.

    Parameters
    ----------
    value
        The id as the row gives it.
    row
        The row's number, as findings count rows.
    field
        The column (``order_id``, ``vehicle_id``, ``depot_id``).
    code
        The finding's code (``order_id_invalid``...).
    source
        ``"orders"`` or ``"fleet"``.

    Returns
    -------
    Finding or None
        An error naming the row and the field, or ``None`` when the id is valid or empty.
    """
    problem = id_problem(value) if value else None
    if problem is None:
        return None
    return Finding(code, Severity.ERROR, f"{problem}.", row, field, source=source)
