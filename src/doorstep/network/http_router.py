"""Plumbing shared by the providers that ask a routing server over HTTP (OSRM, Valhalla).

* :class:`RouterClient` wraps an :class:`httpx.Client` with a timeout and retries with
  exponential backoff on what is usually passing trouble: a refused or dropped
  connection, a timeout, HTTP 429 and HTTP 5xx. It decodes JSON and turns everything
  else into :class:`~doorstep.errors.RouterError` (the server answered, but not with
  something usable) or :class:`~doorstep.errors.RouterUnavailableError` (no answer).
* :func:`table_blocks` splits an N x N many-to-many table into blocks of sources x
  targets that each fit in one request, so that big matrices are assembled from
  several requests under the server's table-size limit.
* :func:`number_table` reads a JSON list of rows of numbers or ``null`` into an array,
  :func:`whole_units` rounds it for :class:`~doorstep.network.provider.Matrices`, and
  :func:`assemble` applies the snap limit.
* :func:`decode_polyline` decodes Google's encoded polyline (precision 5 or 6).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypedDict

import httpx
import numpy as np
import numpy.typing as npt

from doorstep.domain.fleet import Profile
from doorstep.domain.location import Location
from doorstep.errors import RouterError, RouterUnavailableError
from doorstep.network.provider import (
    DEFAULT_MAX_SNAP_M,
    UNREACHABLE,
    IntMatrix,
    Matrices,
    TravelTimeProvider,
)

FloatMatrix = npt.NDArray[np.float64]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""HTTP statuses worth asking again: rate limiting and (usually passing) server trouble."""

UNAVAILABLE_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses that still mean "no answer" after the last retry (the others are answers)."""


class ResponseShapeError(ValueError):
    """A JSON answer that does not have the structure the routing API documents."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, and how patiently, a request without a usable answer is repeated.

    Parameters
    ----------
    retries
        Further attempts after the first one (0 disables retrying).
    backoff_s
        Wait before the first retry; each later wait doubles, up to ``max_backoff_s``.
        A server's ``Retry-After`` (in seconds) replaces the wait, within the same cap.
    max_backoff_s
        Longest single wait.
    """

    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("retries cannot be negative")
        if self.backoff_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff times cannot be negative")

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:
            try:
                asked = float(retry_after)
            except ValueError:
                asked = math.nan
            if math.isfinite(asked) and asked >= 0:
                return min(asked, self.max_backoff_s)
        return min(self.backoff_s * 2.0**retry, self.max_backoff_s)


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded JSON answer and its HTTP status (any status: errors carry JSON too)."""

    status: int
    body: Any


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, or a ValueError if it is not http(s)."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or len(url) <= len("https://"):
        raise ValueError(
            f"a routing server URL must start with http:// or https://, got {base_url!r}"
        )
    return url


class RouterClient:
    """One conversation with a routing server: an HTTP client with timeout and retries.

    Use it as a context manager so its connections are closed::

        with RouterClient("http://localhost:5000", name="OSRM") as client:
            reply = client.get_json("/table/v1/driving/13.38,52.51;13.39,52.52")

    Parameters
    ----------
    base_url
        The server's root, e.g. ``http://localhost:5000``.
    name
        What to call the server in messages ("OSRM", "Valhalla").
    timeout_s
        Limit for connecting and for each read, per attempt.
    retry
        When and how long to wait before asking again.
    transport
        An httpx transport to use instead of the network (``httpx.MockTransport`` in tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        self.name = name
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            headers={"Accept": "application/json"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the underlying connections."""
        self._client.close()

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Reply:
        """``GET base_url + path`` and decode the JSON answer (see :meth:`request_json`)."""
        return self.request_json("GET", path, params=params)

    def post_json(self, path: str, body: Any) -> Reply:
        """``POST`` ``body`` as JSON to ``base_url + path`` and decode the JSON answer."""
        return self.request_json("POST", path, body=body)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> Reply:
        """Send a request, retrying passing failures, and decode the JSON answer.

        Returns
        -------
        Reply
            The status and decoded body of the first answer that is not worth
            retrying (a 4xx error with a JSON body is returned, not raised), or of
            the last HTTP 500 when every attempt got one.

        Raises
        ------
        RouterUnavailableError
            No connection, a timeout, or HTTP 429/502/503/504 on every attempt.
        RouterError
            The answer is not JSON.
        """
        attempts = self.retry.retries + 1
        response: httpx.Response | None = None
        for attempt in range(attempts):
            if attempt:
                retry_after = None if response is None else response.headers.get("Retry-After")
                time.sleep(self.retry.delay(attempt - 1, retry_after))
            try:
                response = self._client.request(method, path, params=params, json=body)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                response = None
                if attempt + 1 < attempts:
                    continue
                raise self._unavailable(method, path, exc, attempts) from exc
            except httpx.HTTPError as exc:  # not worth retrying (e.g. a proxy error)
                raise self._unavailable(method, path, exc, attempt + 1) from exc
            if response.status_code not in RETRY_STATUSES or attempt + 1 == attempts:
                break
        assert response is not None
        if response.status_code in UNAVAILABLE_STATUSES:
            raise RouterUnavailableError(
                f"{self.name} at {self.base_url} answered HTTP {response.status_code} "
                f"to {method} {_short(path)} on all {attempts} attempt(s).",
                hint=(
                    "The server is overloaded or restarting: try again later, lower the "
                    "request rate, or raise retries/backoff."
                ),
            )
        return Reply(response.status_code, self._decode(method, path, response))

    def _decode(self, method: str, path: str, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            snippet = response.content[:120].decode("utf-8", "replace")
            raise RouterError(
                f"{self.name} at {self.base_url} answered {method} {_short(path)} with "
                f"HTTP {response.status_code} and a body that is not JSON: {snippet!r}",
                hint=(
                    f"Check that {self.base_url} is the {self.name} server itself, not a "
                    "proxy, a web page or another service."
                ),
            ) from None

    def _unavailable(
        self, method: str, path: str, exc: httpx.HTTPError, attempts: int
    ) -> RouterUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            what = f"did not answer within {self.timeout_s:g} s"
            hint = (
                "The server may be overloaded; raise timeout_s, or lower the table size "
                "so each request does less work."
            )
        else:
            what = f"could not be reached ({type(exc).__name__}: {exc})"
            hint = f"Check that {self.name} is running and that the URL (host and port) is right."
        return RouterUnavailableError(
            f"{self.name} at {self.base_url} {what} for {method} {_short(path)} "
            f"({attempts} attempt(s)).",
            hint=hint,
        )

    def shape_error(self, what: str, exc: ResponseShapeError) -> RouterError:
        """A :class:`RouterError` for an answer to ``what`` that has an unexpected shape."""
        return RouterError(
            f"{self.name} at {self.base_url} answered the {what} request in an unexpected "
            f"shape: {exc}",
            hint=f"Check that {self.base_url} runs a {self.name} version with the documented API.",
        )


class RouterOptions(TypedDict, total=False):
    """The keyword arguments every routing-server provider takes (see :class:`HttpRouter`)."""

    timeout_s: float
    retries: int
    backoff_s: float
    max_snap_m: float
    transport: httpx.BaseTransport | None


class HttpRouter(TravelTimeProvider):
    """What every routing-server provider shares: the server, timeouts, retries, snapping.

    Subclasses add the server's API (``matrices`` and ``geometry``) and pass
    their other keyword arguments (:class:`RouterOptions`) on to this one.
    Their ``matrices`` raise :class:`~doorstep.errors.RouterUnavailableError`
    when the server could not be reached or kept failing, and
    :class:`~doorstep.errors.RouterError` when it refused a request (its own
    error code and message quoted) or answered something unreadable.

    Parameters
    ----------
    base_url
        The server's root URL (``http://host:port``).
    name
        The server kind, for messages ("OSRM", "Valhalla").
    names
        The server's name for each Doorstep profile (OSRM profile, Valhalla costing).
    batch
        Most locations one matrix request may carry (per side), as the server allows.
    min_batch
        The smallest ``batch`` the server's API can work with.
    timeout_s
        Connect and read timeout per attempt, in seconds.
    retries
        Further attempts after a failed one (connection refused, timeout, 429, 5xx).
    backoff_s
        Wait before the first retry, doubled for each further one.
    max_snap_m
        Largest accepted distance from a location to its road; farther ones are
        reported in :attr:`Matrices.off_network`.
    transport
        An httpx transport to use instead of the network (tests).
    """

    def __init__(
        self,
        base_url: str,
        name: str,
        *,
        names: Mapping[Profile, str],
        batch: int,
        min_batch: int = 1,
        timeout_s: float = 30.0,
        retries: int = 2,
        backoff_s: float = 0.5,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if batch < min_batch:
            raise ValueError(f"the {name} request size must be at least {min_batch}")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if max_snap_m < 0:
            raise ValueError("max_snap_m cannot be negative")
        self.base_url = check_base_url(base_url)
        self.name = name
        self.names = dict(names)
        self.batch = batch
        self.timeout_s = timeout_s
        self.retry = RetryPolicy(retries=retries, backoff_s=backoff_s)
        self.max_snap_m = max_snap_m
        self.transport = transport

    def _client(self) -> RouterClient:
        return RouterClient(
            self.base_url,
            name=self.name,
            timeout_s=self.timeout_s,
            retry=self.retry,
            transport=self.transport,
        )


def _short(path: str, limit: int = 80) -> str:
    return path if len(path) <= limit else path[: limit - 3] + "..."


# --- JSON shape checks --------------------------------------------------------------------


def expect_dict(value: object, where: str) -> dict[str, Any]:
    """``value`` as a JSON object, or :class:`ResponseShapeError` naming ``where``."""
    if not isinstance(value, dict):
        raise ResponseShapeError(f"{where} should be an object, got {_kind(value)}")
    return value


def expect_list(value: object, where: str) -> list[Any]:
    """``value`` as a JSON array, or :class:`ResponseShapeError` naming ``where``."""
    if not isinstance(value, list):
        raise ResponseShapeError(f"{where} should be an array, got {_kind(value)}")
    return value


def expect_number(value: object, where: str) -> float:
    """``value`` as a finite JSON number (not a boolean), or :class:`ResponseShapeError`."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ResponseShapeError(f"{where} should be a number, got {_kind(value)}")
    return float(value)


def _kind(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else ""
    return type(value).__name__ + (f" {text[:40]}" if text else "")


def number_table(value: object, rows: int, cols: int, where: str) -> FloatMatrix:
    """A ``rows`` x ``cols`` JSON array of arrays of numbers as floats, ``null`` as NaN.

    Negative numbers (which no travel time or distance can be) are read as 0.
    """
    out = np.full((rows, cols), np.nan)
    table = expect_list(value, where)
    if len(table) != rows:
        raise ResponseShapeError(f"{where} should have {rows} rows, got {len(table)}")
    for i, row_value in enumerate(table):
        row = expect_list(row_value, f"{where}[{i}]")
        if len(row) != cols:
            raise ResponseShapeError(f"{where}[{i}] should have {cols} entries, got {len(row)}")
        for j, cell in enumerate(row):
            if cell is not None:
                out[i, j] = max(0.0, expect_number(cell, f"{where}[{i}][{j}]"))
    return out


def whole_units(values: FloatMatrix) -> IntMatrix:
    """Round to whole seconds or metres; NaN (no path) becomes :data:`UNREACHABLE`."""
    out = np.full(values.shape, UNREACHABLE, dtype=np.int64)
    found = ~np.isnan(values)
    out[found] = np.minimum(np.rint(values[found]), UNREACHABLE)
    return out


def assemble(
    durations: IntMatrix,
    distances: IntMatrix,
    snap_m: Sequence[float],
    max_snap_m: float,
    source: str,
) -> Matrices:
    """:class:`Matrices` from a router's tables, with far-off locations cut off.

    A location more than ``max_snap_m`` from the road it was attached to is listed
    in ``off_network`` and its row and column become :data:`UNREACHABLE`; the
    diagonal is 0. ``durations`` and ``distances`` are changed in place.
    """
    off_network = tuple(i for i, metres in enumerate(snap_m) if metres > max_snap_m)
    for i in off_network:
        durations[i, :] = durations[:, i] = UNREACHABLE
        distances[i, :] = distances[:, i] = UNREACHABLE
    np.fill_diagonal(durations, 0)
    np.fill_diagonal(distances, 0)
    return Matrices(
        durations=durations,
        distances=distances,
        source=source,
        snap_m=tuple(round(metres, 1) for metres in snap_m),
        off_network=off_network,
    )


# --- Batching -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Block:
    """Rows ``sources`` x columns ``targets`` of a many-to-many table, asked in one request."""

    sources: range
    targets: range

    @property
    def locations(self) -> list[int]:
        """The distinct location indices the request carries: sources, then other targets."""
        seen = set(self.sources)
        return [*self.sources, *(t for t in self.targets if t not in seen)]


def table_blocks(
    n: int,
    max_sources: int,
    max_targets: int | None = None,
    *,
    targets: range | None = None,
) -> list[Block]:
    """Cover a table with blocks of at most ``max_sources`` x ``max_targets``.

    The sources (and the targets) are cut into consecutive chunks; every pair of
    chunks (the chunk of sources, the chunk of targets) is one block, row-major.
    With both sides within the limits there is a single block.

    Parameters
    ----------
    n
        Number of locations: the sources are ``range(n)``.
    max_sources, max_targets
        Largest number of rows and columns in a block (``max_targets`` defaults to
        ``max_sources``).
    targets
        The targets' location indices; None: the sources themselves (an ``n`` x
        ``n`` table).

    Returns
    -------
    list[Block]
        Blocks that together cover every cell exactly once.
    """
    max_targets = max_sources if max_targets is None else max_targets
    if max_sources < 1 or max_targets < 1:
        raise ValueError("a block must hold at least one source and one target")
    targets = range(n) if targets is None else targets
    source_chunks = [range(i, min(i + max_sources, n)) for i in range(0, n, max_sources)]
    target_chunks = [targets[j : j + max_targets] for j in range(0, len(targets), max_targets)]
    return [Block(s, t) for s in source_chunks for t in target_chunks]


# --- Geometry -----------------------------------------------------------------------------


def decode_polyline(encoded: str, precision: int = 6) -> list[Location]:
    """Decode Google's encoded polyline format into points.

    Valhalla encodes shapes with 6 decimal digits (``polyline6``), OSRM with 5 by
    default. Each value is a zig-zag encoded delta from the previous point, written
    in 5-bit chunks offset by 63, latitude before longitude.

    Raises
    ------
    ResponseShapeError
        The string stops in the middle of a value or holds characters outside the format.
    """
    factor = 10.0**precision
    points: list[Location] = []
    index, lat, lon = 0, 0, 0
    length = len(encoded)
    while index < length:
        deltas = []
        for _ in range(2):
            result, shift = 0, 0
            while True:
                if index >= length:
                    raise ResponseShapeError("the encoded polyline ends in the middle of a value")
                byte = ord(encoded[index]) - 63
                index += 1
                if not 0 <= byte < 64:
                    bad = encoded[index - 1]
                    raise ResponseShapeError(f"the encoded polyline holds {bad!r}, not polyline")
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lon += deltas[1]
        points.append(Location(lat / factor, lon / factor))
    return points


def lon_lat_points(value: object, where: str) -> list[Location]:
    """A JSON array of ``[lon, lat]`` pairs (GeoJSON order) as points."""
    points = []
    for k, pair_value in enumerate(expect_list(value, where)):
        pair = expect_list(pair_value, f"{where}[{k}]")
        if len(pair) < 2:
            raise ResponseShapeError(f"{where}[{k}] should be [lon, lat]")
        lon = expect_number(pair[0], f"{where}[{k}][0]")
        lat = expect_number(pair[1], f"{where}[{k}][1]")
        points.append(Location(lat, lon))
    return points
