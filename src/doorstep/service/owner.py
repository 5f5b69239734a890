"""The process that owns a planning job, stored in the plan row's request.

Each plan records the process that owns its job (:class:`Owner`, stored as the
request's ``"worker"``), so that with several service processes
(``doorstep serve --workers N``) a restarted process marks only the plans whose
process is gone as failed, not those another live process is running or has queued.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("doorstep.planning")

OWNER_KEY = "worker"
"""The key of a plan row's ``request`` that holds the plan's :class:`Owner`."""

MAX_PID = 2**31 - 1
"""Largest process id an owner may name (larger ones cannot exist)."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The service process that owns a plan's job (stored as ``request["worker"]``).

    A process owns the plans submitted to it: it alone runs them, so a queued or
    running plan is orphaned exactly when its owner is gone.

    Attributes
    ----------
    host
        The host name of the process's machine. Processes that share a host name
        must share process ids (one machine, or one container): a container that
        reuses another's host name with its own process ids is not told apart.
    pid
        The process id.
    boot
        An id made when the process started (or forked), which tells this process
        apart from an earlier one that had the same pid.
    """

    host: str
    pid: int
    boot: str

    @classmethod
    def current(cls) -> Owner:
        """The process the caller runs in.

        Returns
        -------
        Owner
            The same owner for every call in a process; a forked child gets its own.
        """
        return _current_owner

    def as_json(self) -> dict[str, Any]:
        """The owner as JSON-ready data.

        Returns
        -------
        dict
            ``host``, ``pid`` and ``boot``.
        """
        return {"host": self.host, "pid": self.pid, "boot": self.boot}

    @classmethod
    def from_json(cls, data: object) -> Owner | None:
        """The owner stored as ``data`` (the inverse of :meth:`as_json`).

        Parameters
        ----------
        data
            A plan row's ``request["worker"]``, or ``None`` when it has none.

        Returns
        -------
        Owner or None
            ``None`` when ``data`` is missing or malformed (no owner is known).
        """
        if not isinstance(data, Mapping):
            return None
        host, pid, boot = data.get("host"), data.get("pid"), data.get("boot")
        if not (isinstance(host, str) and host and isinstance(boot, str) and boot):
            return None
        if type(pid) is not int or not 0 < pid <= MAX_PID:
            return None
        return cls(host, pid, boot)

    def is_gone(self, current: Owner | None = None) -> bool:
        """Whether this owner is known to have stopped (as seen from ``current``).

        Parameters
        ----------
        current
            The process asking; default: this process.

        Returns
        -------
        bool
            True when the owner ran on ``current``'s host and its pid is not alive,
            or is ``current``'s pid with another boot id (the pid was reused).
            False for a live process, and for a process on another host, which
            cannot be checked from here.
        """
        me = current or Owner.current()
        if self.host != me.host:
            return False
        if self.pid == me.pid:
            return self.boot != me.boot
        return not _pid_alive(self.pid)


def _new_owner() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), uuid.uuid4().hex)


def _forked() -> None:
    global _current_owner
    _current_owner = _new_owner()


_current_owner = _new_owner()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (``pid`` > 0)."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    except (OSError, OverflowError):
        log.warning("cannot tell whether process %d is alive", pid, exc_info=True)
        return True
    return True


def orphaned(request: object, me: Owner) -> bool:
    """Whether the plan whose stored request is ``request`` has no live owner.

    Parameters
    ----------
    request
        A plan row's ``request``.
    me
        The process asking.

    Returns
    -------
    bool
        True when the request names no owner, or an owner that is gone.
    """
    data = request.get(OWNER_KEY) if isinstance(request, Mapping) else None
    owner = Owner.from_json(data)
    return owner is None or owner.is_gone(me)
