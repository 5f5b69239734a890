"""Road travel times from OSRM run in-process (``osrm-bindings``), on any OpenStreetMap file.

``OsrmEmbeddedProvider(Path("metro.osm.pbf"))`` prepares the file with OSRM's
own tools, shipped in the ``osrm-bindings`` wheel (``osrm-extract``, then
``osrm-partition`` and ``osrm-customize`` for the multi-level Dijkstra, MLD,
or ``osrm-contract`` for contraction hierarchies, CH), keeps the prepared
dataset on disk and answers matrices with OSRM's ``table`` service and legs
with its ``route`` service, in this process: no server, no HTTP.

**Availability.** ``osrm-bindings`` ships wheels for Python >= 3.12 only. It is
the optional extra ``osrm`` (``pip install 'doorstep[osrm]'``);
:func:`require_osrm` turns its absence into an :class:`InputError` that says so.

**Profiles.** OSRM's bundled Lua profiles: ``car.lua`` for cars,
``bicycle.lua`` for bikes, ``foot.lua`` on foot; vans use ``car.lua`` at 90%
of its speeds and at most 70 km/h, as Doorstep's own van profile
(:data:`doorstep.network.profiles.DEFAULT_SPEEDS_KMH`). Each runs through a
small wrapper written next to the dataset that turns off the car profile's
``excludable`` classes (toll, motorway, ferry): Doorstep never asks for them,
and each class would cost a full extra customization and its metrics on disk.

**Cache.** A dataset lives in ``<cache>/osrm/<key>/`` where the key digests the
``.pbf``'s content, the profile, the algorithm and the OSRM version, so a
changed file is prepared anew and a stale dataset is never read. It is built
in a temporary folder and renamed into place, so a crash leaves no half
dataset behind. Datasets are bounded by the same figure as the rest of the
cache (``$DOORSTEP_CACHE_MAX_MB``), counted apart from its other entries: after
a new one is made, the least recently used others are deleted until the rest
fit (the new one is always kept, whatever its size).

**Snapping.** OSRM attaches every point to its nearest road, however far; the
waypoint's ``distance`` fills :attr:`Matrices.snap_m`, and a point farther than
``max_snap_m`` is listed off the network with an :data:`UNREACHABLE` row and
column, as the HTTP OSRM provider does.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, Literal

import numpy as np

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import InputError
from doorstep.network.cache import default_cache_dir, digest, file_digest, max_cache_bytes
from doorstep.network.http_router import assemble, whole_units
from doorstep.network.provider import (
    DEFAULT_MAX_SNAP_M,
    UNREACHABLE,
    Matrices,
    Table,
    TravelTimeProvider,
    check_locations,
)

Algorithm = Literal["mld", "ch"]
"""OSRM's two query algorithms: multi-level Dijkstra (partition + customize) or
contraction hierarchies (contract)."""

EXTRA = "osrm"
"""The optional dependency group that installs ``osrm-bindings``."""

LUA_PROFILES: Mapping[Profile, str] = MappingProxyType(
    {Profile.CAR: "car", Profile.VAN: "car", Profile.BIKE: "bicycle", Profile.FOOT: "foot"}
)
"""OSRM's bundled Lua profile (``share/profiles/<name>.lua`` in the wheel) per Doorstep profile."""

VAN_SPEED_FACTOR = 0.9
VAN_MAX_KMH = 70.0
"""Vans drive at 90% of the car's speeds and at most 70 km/h, as in :mod:`.profiles`."""

_READY = "ready"
"""Marker file of a finished dataset; its modification time is the dataset's last use."""

_STALE_PART_S = 3600
"""A temporary dataset folder this old is left over from a crashed preparation."""

SMALL_COMPONENT_NODES = 100
"""``osrm-extract --small-component-size``: OSRM attaches a point to a road of a smaller
strongly connected component (a cut-off stub, a gated yard) only when no larger one
is near. OSRM's default, 1,000, calls every component of a small extract tiny (the
bundled Helsinki one has about 1,400 road nodes), and points there then snap to
stubs with no route out; 100 keeps the main network of a small extract and still
sets real stubs aside."""

_TABLE_CELLS = 2_000_000
"""Most cells (sources x targets) asked of OSRM in one table call: bounds the answer's
memory (OSRM builds a JSON-like object of every figure before Python sees it)."""


def require_osrm() -> ModuleType:
    """The ``osrm`` module of ``osrm-bindings``, or a clear error naming what to install.

    Returns
    -------
    ModuleType
        The imported ``osrm`` package.

    Raises
    ------
    InputError
        Python is older than 3.12 (no wheels exist), or ``osrm-bindings`` is not installed.
    """
    if not _python_has_wheels():
        version = ".".join(str(part) for part in sys.version_info[:3])
        raise InputError(
            f"the embedded OSRM needs Python 3.12 or later; this is Python {version}",
            hint=f"Run Doorstep on Python >= 3.12 with the '{EXTRA}' extra "
            f"(pip install 'doorstep[{EXTRA}]'), or use another router.",
        )
    try:
        return importlib.import_module("osrm")
    except ImportError:
        raise InputError(
            "the embedded OSRM needs the osrm-bindings package, which is not installed",
            hint=f"Install Doorstep with the '{EXTRA}' extra: pip install 'doorstep[{EXTRA}]'.",
        ) from None


def _python_has_wheels() -> bool:
    """Whether this Python is one ``osrm-bindings`` ships wheels for (3.12 and later)."""
    return sys.version_info >= (3, 12)


def osrm_version() -> str:
    """The installed ``osrm-bindings`` version (part of every dataset's key)."""
    try:
        return metadata.version("osrm-bindings")
    except metadata.PackageNotFoundError:
        return "unknown"


def profiles_dir(osrm: ModuleType) -> Path:
    """Where the wheel keeps OSRM's Lua profiles."""
    return Path(str(osrm.__file__)).parent / "share" / "profiles"


def profile_lua(profiles: Path, profile: Profile) -> str:
    """A Lua profile for ``profile`` that runs OSRM's bundled one without excludable classes.

    Parameters
    ----------
    profiles
        The folder of OSRM's bundled profiles (:func:`profiles_dir`).
    profile
        The Doorstep profile; vans also get their slower speeds.

    Returns
    -------
    str
        The wrapper's source.
    """
    base = LUA_PROFILES[profile]
    lines = [
        f"-- Doorstep: OSRM's {base}.lua for the {profile.value} profile.",
        "api_version = 4",
        f"package.path = [==[{profiles}/?.lua;]==] .. package.path",
        f"local base = dofile([==[{profiles / f'{base}.lua'}]==])",
        "local base_setup = base.setup",
        "local process_way = base.process_way",
        "function setup()",
        "  local profile = base_setup()",
        "  profile.excludable = Sequence {}",
        "  return profile",
        "end",
    ]
    if profile is Profile.VAN:
        lines += [
            "local car_way = base.process_way",
            "local function slower(speed, rate)",
            f"  local van = math.min(speed * {VAN_SPEED_FACTOR}, {VAN_MAX_KMH})",
            "  if rate ~= nil and rate > 0 then rate = rate * van / speed end",
            "  return van, rate",
            "end",
            "process_way = function(profile, way, result, relations)",
            "  car_way(profile, way, result, relations)",
            "  if result.forward_speed > 0 then",
            "    result.forward_speed, result.forward_rate =",
            "      slower(result.forward_speed, result.forward_rate)",
            "  end",
            "  if result.backward_speed > 0 then",
            "    result.backward_speed, result.backward_rate =",
            "      slower(result.backward_speed, result.backward_rate)",
            "  end",
            "end",
        ]
    lines += [
        "return {",
        "  setup = setup,",
        "  process_way = process_way,",
        "  process_node = base.process_node,",
        "  process_turn = base.process_turn,",
        "}",
        "",
    ]
    return "\n".join(lines)


_NAME_MARKS = (".osm", ".pbf", ".osrm")
"""What OSRM's tools and engine look for anywhere in a dataset's path to name its files
(``IOConfig::UseDefaultOutputNames``): a folder named ``maps.osm`` makes the extract
write elsewhere and the engine refuse the dataset (measured with OSRM 26)."""


def _run_tool(tool: str, args: Sequence[str], pbf: Path) -> None:
    """Run one of the wheel's OSRM tools (``python -m osrm <tool>``); failures as InputError."""
    command = [sys.executable, "-m", "osrm", tool, *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise InputError(
            f"osrm-{tool} could not prepare {pbf.name}: {last}",
            hint="Check that the file is an OpenStreetMap .pbf extract with roads.",
        )


def prepare_dataset(
    pbf: Path,
    profile: Profile,
    *,
    algorithm: Algorithm = "mld",
    root: Path | None = None,
    threads: int | None = None,
) -> Path:
    """The OSRM dataset of ``pbf`` for ``profile``: from the cache, else prepared now.

    Parameters
    ----------
    pbf
        The OpenStreetMap file.
    profile
        The vehicle profile (its Lua profile: :data:`LUA_PROFILES`).
    algorithm
        ``mld`` (extract, partition, customize) or ``ch`` (extract, contract).
    root
        The folder of datasets; None means ``osrm`` in the Doorstep cache.
    threads
        Threads for OSRM's tools; None means every core.

    Returns
    -------
    Path
        The dataset's base path (``.../map.osrm``), for ``osrm.OSRM(storage_config=...)``.

    Raises
    ------
    InputError
        ``osrm-bindings`` is missing, ``root``'s path holds one of :data:`_NAME_MARKS`,
        or OSRM's tools could not read the file.
    """
    osrm = require_osrm()
    root = root if root is not None else default_cache_dir() / "osrm"
    clash = next((mark for mark in _NAME_MARKS if mark in str(root.resolve())), None)
    if clash is not None:
        raise InputError(
            f"OSRM cannot keep its datasets under {root}: its tools and engine cut file "
            f"names at the first {clash!r} anywhere in a path",
            hint="Choose a cache folder whose path has no '.osm', '.pbf' or '.osrm' in it "
            "(DOORSTEP_CACHE_DIR, or the provider's cache_dir).",
        )
    key = digest(
        file_digest(pbf),
        profile.value,
        algorithm,
        osrm_version(),
        f"small-component-size={SMALL_COMPONENT_NODES}",
    )
    final = root / key
    if (final / _READY).is_file():
        with contextlib.suppress(OSError):
            os.utime(final / _READY)
        return final / "map.osrm"
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root, prefix=f"{key[:16]}-", suffix=".part"))
    try:
        lua = work / f"doorstep-{profile.value}.lua"
        lua.write_text(profile_lua(profiles_dir(osrm), profile), encoding="utf-8")
        base = str(work / "map.osrm")
        cores = str(threads or os.cpu_count() or 1)
        small = str(SMALL_COMPONENT_NODES)
        extract = ["-p", str(lua), "-o", base, "-t", cores, "--small-component-size", small]
        _run_tool("extract", [*extract, str(pbf)], pbf)
        steps = ("partition", "customize") if algorithm == "mld" else ("contract",)
        for tool in steps:
            _run_tool(tool, ["-t", cores, base], pbf)
        (work / _READY).touch()
        try:
            os.replace(work, final)
        except OSError:
            if not (final / _READY).is_file():
                raise
            shutil.rmtree(work, ignore_errors=True)  # another process finished it first
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    evict_datasets(root, keep=final)
    return final / "map.osrm"


def _folder_bytes(folder: Path) -> int:
    total = 0
    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            total += entry.stat().st_size
    return total


def evict_datasets(root: Path, *, keep: Path | None = None, max_bytes: int | None = None) -> int:
    """Delete the least recently used datasets until the rest take at most ``max_bytes``.

    Parameters
    ----------
    root
        The folder of datasets.
    keep
        A dataset never deleted (the one just made).
    max_bytes
        The bound; None means the cache's (:func:`~doorstep.network.cache.max_cache_bytes`).

    Returns
    -------
    int
        Number of datasets deleted (leftovers of crashed preparations are removed too,
        and not counted).
    """
    bound = max_bytes if max_bytes is not None else max_cache_bytes()
    stale = time.time() - _STALE_PART_S
    found: list[tuple[float, Path, int]] = []
    for folder in root.iterdir() if root.is_dir() else ():
        with contextlib.suppress(OSError):
            if folder.name.endswith(".part"):
                if folder.stat().st_mtime < stale:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            marker = folder / _READY
            if marker.is_file():
                found.append((marker.stat().st_mtime, folder, _folder_bytes(folder)))
    total = sum(size for _, _, size in found)
    deleted = 0
    for _, folder, size in sorted(found):
        if total <= bound:
            break
        if keep is not None and folder == keep:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        deleted += 1
    return deleted


def _floats(table: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """OSRM's rows of numbers or None as floats, NaN for None (no route)."""
    return np.array([[np.nan if v is None else v for v in row] for row in table], np.float64)


class OsrmEmbeddedProvider(TravelTimeProvider):
    """Duration and distance matrices and route shapes from OSRM, in this process.

    Parameters
    ----------
    pbf
        The OpenStreetMap file to route on.
    algorithm
        ``mld`` (default; OSRM's multi-level Dijkstra) or ``ch`` (contraction hierarchies).
    max_snap_m
        Points farther than this from every road are listed in ``Matrices.off_network``.
    cache_dir
        Where prepared datasets are kept; None means ``osrm`` in the Doorstep cache.
    threads
        Threads for preparing and for large tables (blocks of rows asked at once);
        None means every core.

    Raises
    ------
    ValueError
        ``max_snap_m`` is negative or ``algorithm`` is unknown.
    """

    def __init__(
        self,
        pbf: Path,
        *,
        algorithm: Algorithm = "mld",
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        if max_snap_m < 0:
            raise ValueError("max_snap_m cannot be negative")
        if algorithm not in ("mld", "ch"):
            raise ValueError(f"unknown OSRM algorithm {algorithm!r}: use 'mld' or 'ch'")
        self.pbf = pbf
        self.algorithm: Algorithm = algorithm
        self.max_snap_m = max_snap_m
        self.cache_dir = cache_dir
        self.threads = threads or os.cpu_count() or 1
        self._engines: dict[Profile, Any] = {}

    def dataset(self, profile: Profile) -> Path:
        """The prepared dataset of ``profile`` (prepared on first use, then cached)."""
        return prepare_dataset(
            self.pbf,
            profile,
            algorithm=self.algorithm,
            root=self.cache_dir,
            threads=self.threads,
        )

    def engine(self, profile: Profile) -> Any:
        """The OSRM engine of ``profile``, loaded once."""
        if profile not in self._engines:
            osrm = require_osrm()
            self._engines[profile] = osrm.OSRM(
                storage_config=str(self.dataset(profile)),
                algorithm=self.algorithm.upper(),
                use_shared_memory=False,
                max_locations_distance_table=-1,
                max_locations_viaroute=-1,
            )
        return self._engines[profile]

    def source(self, profile: Profile) -> str:
        """How matrices name where they come from."""
        kind = f"{profile.value}, {self.algorithm.upper()}"
        return f"OSRM {osrm_version()} embedded, {self.pbf.name} ({kind})"

    def matrices(self, locations: Sequence[Location], profile: Profile) -> Matrices:
        """Road durations (s) and distances (m) between every pair of ``locations``.

        Large tables are asked in blocks of rows, on :attr:`threads` threads.
        """
        check_locations(locations)
        n = len(locations)
        if n == 0:
            empty = np.zeros((0, 0), np.int64)
            return Matrices(empty, empty.copy(), self.source(profile))
        engine = self.engine(profile)
        coordinates = [(p.lon, p.lat) for p in locations]
        if n == 1:  # OSRM refuses a table of one point
            zero = np.zeros((1, 1), np.int64)
            return assemble(
                zero,
                zero.copy(),
                [self._snap(engine, coordinates[0])],
                self.max_snap_m,
                self.source(profile),
            )
        durations = np.full((n, n), UNREACHABLE, np.int64)
        distances = np.full((n, n), UNREACHABLE, np.int64)
        snap = [0.0] * n
        rows = max(1, _TABLE_CELLS // n)
        blocks = [range(start, min(n, start + rows)) for start in range(0, n, rows)]

        def fill(block: range) -> None:
            answer = self._table(engine, coordinates, block)
            durations[block.start : block.stop] = whole_units(_floats(answer["durations"]))
            distances[block.start : block.stop] = whole_units(_floats(answer["distances"]))
            for k, waypoint in enumerate(answer["sources"]):
                snap[block.start + k] = float(waypoint["distance"])

        with ThreadPoolExecutor(max_workers=min(self.threads, len(blocks))) as pool:
            list(pool.map(fill, blocks))
        return assemble(durations, distances, snap, self.max_snap_m, self.source(profile))

    def table(
        self, sources: Sequence[Location], targets: Sequence[Location], profile: Profile
    ) -> Table:
        """Road durations (s) and distances (m) from every source to every target.

        OSRM is asked for those cells only (its ``sources`` and
        ``destinations``), in blocks of rows; the figures are those
        :meth:`matrices` gives.
        """
        check_locations(sources)
        check_locations(targets)
        s, t = len(sources), len(targets)
        name = self.source(profile)
        if s == 0 or t == 0:
            empty = np.zeros((s, t), np.int64)
            return Table(empty, empty.copy(), name)
        engine = self.engine(profile)
        coordinates = [(p.lon, p.lat) for p in [*sources, *targets]]
        durations = np.full((s, t), UNREACHABLE, np.int64)
        distances = np.full((s, t), UNREACHABLE, np.int64)
        snap = [0.0] * (s + t)
        rows = max(1, _TABLE_CELLS // t)
        targets_at = list(range(s, s + t))

        def fill(block: range) -> None:
            answer = self._table(engine, coordinates, block, targets_at)
            durations[block.start : block.stop] = whole_units(_floats(answer["durations"]))
            distances[block.start : block.stop] = whole_units(_floats(answer["distances"]))
            for k, waypoint in enumerate(answer["sources"]):
                snap[block.start + k] = float(waypoint["distance"])
            for k, waypoint in enumerate(answer["destinations"]):
                snap[s + k] = float(waypoint["distance"])

        blocks = [range(start, min(s, start + rows)) for start in range(0, s, rows)]
        with ThreadPoolExecutor(max_workers=min(self.threads, len(blocks))) as pool:
            list(pool.map(fill, blocks))
        return Table.cut_off(durations, distances, snap, self.max_snap_m, name)

    def _table(
        self,
        engine: Any,
        coordinates: list[tuple[float, float]],
        block: range,
        destinations: list[int] | None = None,
    ) -> Any:
        """One OSRM table call: from the locations of ``block`` to ``destinations`` (all)."""
        osrm = require_osrm()
        parameters = osrm.TableParameters(
            coordinates=coordinates,
            sources=[] if len(block) == len(coordinates) else list(block),
            destinations=destinations or [],
            annotations=["duration", "distance"],
            generate_hints=False,
        )
        return engine.Table(parameters)

    def _snap(self, engine: Any, coordinate: tuple[float, float]) -> float:
        """Metres from one point to where OSRM attaches it (``nearest``)."""
        osrm = require_osrm()
        parameters = osrm.NearestParameters(coordinates=[coordinate], generate_hints=False)
        return float(engine.Nearest(parameters)["waypoints"][0]["distance"])

    def geometry(self, start: Location, end: Location, profile: Profile) -> list[Location]:
        """The road path from ``start`` to ``end`` (OSRM ``route``, full overview).

        The polyline runs from ``start`` along OSRM's path to ``end``; a leg with an
        end off the network, or with no route, is the straight segment.
        """
        check_locations((start, end))
        osrm = require_osrm()
        parameters = osrm.RouteParameters(
            coordinates=[(start.lon, start.lat), (end.lon, end.lat)],
            geometries="geojson",
            overview="full",
            generate_hints=False,
        )
        try:
            answer = self.engine(profile).Route(parameters)
        except RuntimeError:
            return [start, end]  # NoRoute: the two points are not connected
        if any(float(w["distance"]) > self.max_snap_m for w in answer["waypoints"]):
            return [start, end]
        path = answer["routes"][0]["geometry"]["coordinates"]
        return [start, *(Location(float(lat), float(lon)) for lon, lat in path), end]
