"""The outputs of a planned day, written into one folder.

==================  =============================================================
file                what it is
==================  =============================================================
``plan.json``       the whole plan, schema ``doorstep.plan/1`` (docs/plan-json.md)
``plan.geojson``    routes, stops, depots and unassigned orders for GIS tools
``map.html``        a self-contained map that works offline
``route-<id>.csv``  one driver manifest per route
==================  =============================================================

Each file is written atomically (a temporary file in the same folder, then
renamed over the target), so a reader never sees half a file. Files already in
the folder that these outputs do not name are left alone; ``plan.json`` lists
the manifests of this plan (``routes[].manifest``).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from doorstep.errors import InputError
from doorstep.plan.outputs.geojson import plan_geojson
from doorstep.plan.outputs.manifests import manifests
from doorstep.plan.outputs.map_html import map_html
from doorstep.plan.outputs.plan_json import plan_json
from doorstep.plan.result import DayPlan

__all__ = ["write_outputs"]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_outputs(
    day: DayPlan,
    out_dir: Path,
    *,
    background: Sequence[Sequence[tuple[float, float]]] = (),
) -> list[Path]:
    """Write ``plan.json``, ``plan.geojson``, ``map.html`` and the manifests into ``out_dir``.

    Parameters
    ----------
    day
        The planned day.
    out_dir
        The folder; created (with its parents) when missing. Files of the same
        names are replaced, other files are left alone.
    background
        Grey lines for the map (for example the road network), each a sequence
        of ``(lat, lon)`` pairs.

    Returns
    -------
    list of Path
        The files written: ``plan.json``, ``plan.geojson``, ``map.html``, then
        one ``route-<vehicle_id>.csv`` per route in plan order.

    Raises
    ------
    InputError
        If the folder cannot be created or a file cannot be written.
    """
    contents: dict[str, bytes] = {
        "plan.json": plan_json(day).encode("utf-8"),
        "plan.geojson": (
            json.dumps(plan_geojson(day), ensure_ascii=False, allow_nan=False) + "\n"
        ).encode("utf-8"),
        "map.html": map_html(day, background).encode("utf-8"),
    }
    for name, text in manifests(day).items():
        contents[name] = text.encode("utf-8-sig")
    written: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, data in contents.items():
            path = out_dir / name
            _write_atomic(path, data)
            written.append(path)
    except OSError as error:
        raise InputError(
            f"cannot write the plan's outputs to {out_dir}: {error.strerror or error}",
            hint="Choose a folder you can write to.",
        ) from error
    return written
