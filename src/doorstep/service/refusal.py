"""A request the service's rules refuse, said without HTTP.

The rules in :mod:`doorstep.service` raise :class:`RefusedError`; the API answers it as
a problem document (422, or 409 for a clash with the current state) and the CLI
as a message, so the same rule reads the same from every door.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from doorstep.errors import DoorstepError


class RefusedError(DoorstepError):
    """The service's rules refuse what was asked.

    Parameters
    ----------
    code
        Stable machine-readable code (``unknown_orders``, ``plan_not_done``...).
    message
        A sentence for people: what is wrong and what to do.
    errors
        Per-field errors: ``{"field": ..., "message": ...}``.
    conflict
        True when the request clashes with the current state (it may succeed
        later, or after another change); False when the request itself is wrong.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        conflict: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.errors = list(errors)
        self.conflict = conflict
