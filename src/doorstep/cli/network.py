"""``doorstep matrix``, ``doorstep network info`` and ``warm``: travel times on their own."""

from __future__ import annotations

import csv
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table

from doorstep.cli.output import fail, stderr, stdout
from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import DoorstepError, InputError
from doorstep.io.tables import read_table
from doorstep.network.choose import RouterKind, open_provider
from doorstep.network.provider import UNREACHABLE, Matrices, TravelTimeProvider
from doorstep.units import parse_clock

network_app = typer.Typer(
    help="Inspect road network files.", no_args_is_help=True, rich_markup_mode="rich"
)

_SUFFIXES = (".npz", ".csv")


def read_points(path: Path) -> tuple[list[str], list[Location]]:
    """Ids and locations from a CSV/Excel/JSON file with lat and lon columns (an id is optional).

    Raises
    ------
    InputError
        The file cannot be read, has no lat/lon columns, or a row's coordinates
        are missing or out of range (the message names the row).
    """
    table = read_table(path, "orders")
    if "lat" not in table.columns or "lon" not in table.columns:
        raise InputError(
            f"{path}: needs lat and lon columns (found: {', '.join(table.columns) or 'none'})",
            hint="Name them lat/lon or latitude/longitude.",
        )
    ids: list[str] = []
    points: list[Location] = []
    for raw in table.rows:
        try:
            lat = float(str(raw.values.get("lat", "")).replace(",", "."))
            lon = float(str(raw.values.get("lon", "")).replace(",", "."))
        except ValueError:
            raise InputError(
                f"{path}, row {raw.row}: lat/lon {raw.values.get('lat')!r}, "
                f"{raw.values.get('lon')!r} are not numbers",
                hint="Fix or remove that row; nothing was computed.",
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(
                f"{path}, row {raw.row}: ({lat}, {lon}) is not a coordinate",
                hint="Latitude must be within +-90 and longitude within +-180.",
            )
        ids.append(str(raw.values.get("order_id") or raw.row))
        points.append(Location(lat, lon))
    if not points:
        raise InputError(f"{path}: holds no points")
    return ids, points


PbfOption = Annotated[
    Path | None,
    typer.Option(help="OpenStreetMap .pbf extract. Default: the bundled central Helsinki."),
]
"""``--pbf``: the road source option every command that needs travel times shares."""
OsrmOption = Annotated[str | None, typer.Option(help="OSRM server URL, e.g. http://localhost:5000")]
"""``--osrm``."""
ValhallaOption = Annotated[
    str | None, typer.Option(help="Valhalla server URL, e.g. http://localhost:8002")
]
"""``--valhalla``."""
OsrmEmbeddedOption = Annotated[
    bool,
    typer.Option(
        "--osrm-embedded",
        help="Route on the .pbf (--pbf, default the bundled Helsinki) with OSRM run in "
        "this process (MLD): the 'osrm' extra, Python 3.12 or later.",
    ),
]
"""``--osrm-embedded``."""
StraightOption = Annotated[
    bool, typer.Option("--straight", help="Straight-line estimates (no roads).")
]
"""``--straight``."""
MaxSnapOption = Annotated[
    float | None,
    typer.Option(
        help="Points farther than this many metres from a road are reported. "
        "Default: the router's (250 m for roads and servers), as in the service.",
        min=0,
    ),
]
"""``--max-snap``."""


def make_provider(
    pbf: Path | None,
    osrm: str | None,
    valhalla: str | None,
    straight: bool,
    departure: str | None,
    traffic: Path | None,
    max_snap_m: float | None = None,
    *,
    osrm_embedded: bool = False,
) -> TravelTimeProvider:
    """The travel-time provider the command-line options ask for (default: bundled OSM).

    ``max_snap_m`` None keeps the router kind's default snap limit
    (:data:`doorstep.network.choose.ROUTERS`), the one the service uses too.
    ``osrm_embedded`` routes the ``.pbf`` (``pbf``, default the bundled one)
    with the embedded OSRM.

    Raises
    ------
    InputError
        Conflicting options, a bad departure time, or a missing .pbf.
    """
    options = (
        ("--pbf", pbf and not osrm_embedded),
        ("--osrm", osrm),
        ("--valhalla", valhalla),
        ("--straight", straight),
        ("--osrm-embedded", osrm_embedded),
    )
    chosen = [name for name, value in options if value]
    if len(chosen) > 1:
        raise InputError(f"choose one source of travel times, not {' and '.join(chosen)}")
    if (departure or traffic) and (osrm or valhalla or straight or osrm_embedded):
        raise InputError(
            "--departure and --traffic apply to OpenStreetMap files only",
            hint="Routers apply their own speeds and traffic data.",
        )
    from doorstep.network.traffic import URBAN_WEEKDAY, read_traffic

    profile_traffic = None
    hour = None
    if departure or traffic:
        if departure is None:
            raise InputError("--traffic needs --departure HH:MM to pick the hour")
        try:
            seconds = parse_clock(departure)
        except ValueError as error:
            raise InputError(f"--departure {departure!r}: {error}") from error
        hour = (seconds // 3600) % 24
        profile_traffic = read_traffic(traffic) if traffic else URBAN_WEEKDAY
    kind: RouterKind = "bundled"
    source, option = "", ""
    if straight:
        kind = "straight"
    elif osrm_embedded:
        from doorstep.network.osm_provider import BUNDLED_PBF

        kind, source = "osrm-embedded", str(pbf or BUNDLED_PBF)
        option = "--pbf" if pbf else "--osrm-embedded"
    elif osrm:
        kind, source, option = "osrm", osrm, "--osrm"
    elif valhalla:
        kind, source, option = "valhalla", valhalla, "--valhalla"
    elif pbf is not None:
        kind, source, option = "pbf", str(pbf), "--pbf"
    return open_provider(
        kind,
        source,
        option=option,
        traffic=profile_traffic,
        departure_hour=hour,
        max_snap_m=max_snap_m,
    )


def write_matrices(path: Path, ids: list[str], points: list[Location], m: Matrices) -> None:
    """Write ``.npz`` (arrays) or ``.csv`` (one row per ordered pair) atomically."""
    tmp = path.with_name(path.name + ".part")
    if path.suffix == ".npz":
        with tmp.open("wb") as handle:
            np.savez_compressed(
                handle,
                ids=np.array(ids),
                lat=np.array([p.lat for p in points]),
                lon=np.array([p.lon for p in points]),
                durations_s=m.durations,
                distances_m=m.distances,
                snap_m=np.array(m.snap_m or [np.nan] * len(points)),
                off_network=np.array(m.off_network, dtype=np.int64),
                source=np.array(m.source),
                estimated=np.array(m.estimated),
            )
    else:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["from_id", "to_id", "duration_s", "distance_m"])
            for i, a in enumerate(ids):
                for j, b in enumerate(ids):
                    if m.durations[i, j] < UNREACHABLE:
                        writer.writerow([a, b, int(m.durations[i, j]), int(m.distances[i, j])])
                    else:
                        writer.writerow([a, b, "", ""])
    tmp.replace(path)


def matrix_command(
    points: Annotated[
        Path,
        typer.Argument(
            help="Points file (CSV, Excel, JSON) with lat and lon columns; id optional."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write: FILE.npz (arrays) or FILE.csv.")
    ],
    pbf: PbfOption = None,
    osrm: OsrmOption = None,
    valhalla: ValhallaOption = None,
    straight: StraightOption = False,
    osrm_embedded: OsrmEmbeddedOption = False,
    profile: Annotated[Profile, typer.Option(help="Vehicle profile.")] = Profile.VAN,
    departure: Annotated[
        str | None,
        typer.Option(help="Departure time HH:MM: speeds of that hour (OpenStreetMap files)."),
    ] = None,
    traffic: Annotated[
        Path | None,
        typer.Option(help="Per-hour speed multipliers (YAML/JSON). Default: urban weekday."),
    ] = None,
    max_snap: MaxSnapOption = None,
) -> None:
    """Travel-time and distance matrices between points, on real roads by default.

    Without a source option the bundled OpenStreetMap extract of central
    Helsinki is used, offline. The first run on a file prepares it (seconds for
    a city, a minute for a metro area) and caches it in ~/.cache/doorstep.

    Exit code: 0 done, 1 done but some points are off the road network, 2 bad input.

    For example:

      doorstep matrix examples/helsinki/addresses.csv --out times.csv

      doorstep matrix stops.csv --pbf uusimaa.osm.pbf --profile car --departure 08:00 --out m.npz

      doorstep matrix stops.csv --osrm http://localhost:5000 --out m.npz
    """
    if out.suffix not in _SUFFIXES:
        fail(InputError(f"--out {out}: use a .npz or .csv file name"))
    started = time.perf_counter()
    try:
        ids, locations = read_points(points)
        provider = make_provider(
            pbf, osrm, valhalla, straight, departure, traffic, max_snap, osrm_embedded=osrm_embedded
        )
        status = stderr.status(f"Computing {len(locations)} x {len(locations)} travel times ...")
        with status if stderr.is_terminal else nullcontext():
            m = provider.matrices(locations, profile)
        write_matrices(out, ids, locations, m)
    except DoorstepError as error:
        fail(error)
    elapsed = time.perf_counter() - started
    _summary(out, ids, m, elapsed)
    if m.off_network:
        raise typer.Exit(1)


def _summary(out: Path, ids: list[str], m: Matrices, elapsed: float) -> None:
    n = len(ids)
    reachable = (m.durations < UNREACHABLE) & ~np.eye(n, dtype=bool)
    table = Table(show_header=False, box=None)
    table.add_row("points", str(n))
    table.add_row("source", m.source + (" [yellow](estimates)[/]" if m.estimated else ""))
    if reachable.any():
        d, t = m.distances[reachable], m.durations[reachable]
        table.add_row("median trip", f"{np.median(d) / 1000:.2f} km, {np.median(t) / 60:.1f} min")
        speed = d.sum() / max(1, t.sum()) * 3.6
        table.add_row("average speed", f"{speed:.1f} km/h")
    if m.snap_m:
        snap = np.array(m.snap_m)
        table.add_row(
            "distance to road",
            f"median {np.median(snap):.0f} m, max {snap.max():.0f} m "
            f"({ids[int(snap.argmax())]}), {(snap > 50).sum()} over 50 m",
        )
    missing = int((~reachable).sum() - n)
    if missing:
        table.add_row("unreachable pairs", f"[yellow]{missing}[/]")
    table.add_row("written", f"{out} in {elapsed:.1f} s")
    stdout.print(table)
    for i in m.off_network:
        stdout.print(
            f"[yellow]warning[/] point {ids[i]} is {m.snap_m[i]:.0f} m from the nearest road: "
            "left unreachable. Check its coordinates, or use a road file that covers it."
        )


@network_app.command("info")
def info_command(
    pbf: Annotated[Path, typer.Argument(help="OpenStreetMap .pbf (or .osm) file.")],
) -> None:
    """Nodes, edges, km of road and the bounding box of a road file.

    Example: doorstep network info uusimaa.osm.pbf
    """
    from doorstep.network.osm_graph import network_info

    try:
        info = network_info(pbf)
    except DoorstepError as error:
        fail(error)
    table = Table(show_header=False, box=None)
    table.add_row("file", str(pbf))
    table.add_row("road nodes", f"{info.nodes:,}")
    table.add_row("road edges", f"{info.edges:,}")
    table.add_row("road length", f"{info.road_km:,.1f} km")
    min_lat, min_lon, max_lat, max_lon = info.bbox
    table.add_row("bounding box", f"{min_lat:.5f},{min_lon:.5f} - {max_lat:.5f},{max_lon:.5f}")
    table.add_row("ways by class", ", ".join(f"{k} {v:,}" for k, v in info.ways_per_class.items()))
    stdout.print(table)


@network_app.command("warm")
def warm_command() -> None:
    """Compile the road-network code now, so the first plan does not wait for it.

    Doorstep's matrix code is compiled on first use (about 15 s on two cores)
    and kept in the cache folder: $DOORSTEP_CACHE_DIR, else
    $XDG_CACHE_HOME/doorstep, else ~/.cache/doorstep (subfolder numba; or
    $NUMBA_CACHE_DIR). `make install` runs this once; run it again after
    clearing the cache or upgrading Doorstep. Also shows how full the cache of
    networks and matrices is (bound: $DOORSTEP_CACHE_MAX_MB, default 500).

    Example: doorstep network warm
    """
    from doorstep.network.cache import DiskCache
    from doorstep.network.warm import warm

    started = time.perf_counter()
    try:
        cache = DiskCache()
        warmed = warm()
    except DoorstepError as error:
        fail(error)
    table = Table(show_header=False, box=None)
    table.add_row(
        "ready",
        f"{len(warmed.functions)} compiled functions in {time.perf_counter() - started:.1f} s",
    )
    table.add_row(
        "compiled code", warmed.folder or "numba's default folder (the cache cannot be written)"
    )
    table.add_row(
        "networks and matrices",
        f"{cache.size_bytes() / (1 << 20):,.1f} of {cache.max_bytes / (1 << 20):,.0f} MB "
        f"in {cache.root}",
    )
    stdout.print(table)
