"""Where a stored plan and its routes are in their life.

::

    plan:  queued -> running -> done -> published      (publishing is a person's act)
                     running -> failed
    route: planned -> published -> in_progress -> completed
"""

from __future__ import annotations

from enum import StrEnum


class PlanStatus(StrEnum):
    """Where a plan is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    PUBLISHED = "published"


PUBLISHED_ROUTE_STATES = ("published", "in_progress", "completed")
"""Route states that hand a route's orders to a driver (``planned`` does not)."""
