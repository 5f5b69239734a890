"""Tests for the HTTP plumbing shared by the routing-server providers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorstep.domain import Location
from doorstep.errors import RouterError, RouterUnavailableError
from doorstep.network.http_router import (
    Block,
    ResponseShapeError,
    RetryPolicy,
    RouterClient,
    decode_polyline,
    number_table,
    table_blocks,
)
from network.replay_server import encode_polyline


@given(st.integers(0, 150), st.integers(1, 120), st.integers(1, 120))
def test_blocks_cover_every_cell_once_within_the_limits(n: int, rows: int, cols: int) -> None:
    """table_blocks tiles the n x n table exactly, no block above its limits."""
    seen = np.zeros((n, n), dtype=int)
    for block in table_blocks(n, rows, cols):
        assert 0 < len(block.sources) <= rows and 0 < len(block.targets) <= cols
        s, t = block.sources, block.targets
        assert s.step == 1 and t.step == 1
        seen[s.start : s.stop, t.start : t.stop] += 1
    assert (seen == 1).all()


@given(st.integers(0, 60), st.integers(0, 150), st.integers(1, 40), st.integers(1, 40))
def test_blocks_cover_a_rectangle_once_within_the_limits(
    n: int, t: int, rows: int, cols: int
) -> None:
    """With targets apart (after the sources), the n x t rectangle is tiled exactly."""
    seen = np.zeros((n, t), dtype=int)
    for block in table_blocks(n, rows, cols, targets=range(n, n + t)):
        assert 0 < len(block.sources) <= rows and 0 < len(block.targets) <= cols
        s, c = block.sources, block.targets
        assert s.step == 1 and c.step == 1 and c.start >= n
        seen[s.start : s.stop, c.start - n : c.stop - n] += 1
    assert (seen == 1).all()


def test_single_block_when_the_table_fits() -> None:
    """Up to the limit there is one block holding everything."""
    assert table_blocks(100, 100) == [Block(range(100), range(100))]
    assert len(table_blocks(230, 50)) == 25


def test_block_locations_are_distinct() -> None:
    """A diagonal block carries its locations once; another carries both chunks."""
    assert Block(range(3), range(3)).locations == [0, 1, 2]
    assert Block(range(0, 2), range(5, 7)).locations == [0, 1, 5, 6]


def test_retry_delays_double_up_to_the_cap() -> None:
    """Backoff doubles per retry, is capped, and a numeric Retry-After replaces it."""
    policy = RetryPolicy(retries=5, backoff_s=0.5, max_backoff_s=3.0)
    assert [policy.delay(k) for k in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(0, "2") == 2.0 and policy.delay(0, "60") == 3.0
    assert policy.delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 1.0
    with pytest.raises(ValueError):
        RetryPolicy(retries=-1)


def test_decodes_googles_documented_example() -> None:
    """The polyline example of Google's format description, at precision 5."""
    points = decode_polyline("_p~iF~ps|U_ulLnnqC_mqNvxq`@", precision=5)
    assert points == [Location(38.5, -120.2), Location(40.7, -120.95), Location(43.252, -126.453)]


coordinates = st.tuples(st.floats(-89, 89), st.floats(-179, 179))


@given(st.lists(coordinates, max_size=20))
def test_polyline6_round_trip(points: list[tuple[float, float]]) -> None:
    """Decoding an encoded polyline6 gives the points back to 1e-6 degree."""
    decoded = decode_polyline(encode_polyline(points), precision=6)
    assert len(decoded) == len(points)
    for got, (lat, lon) in zip(decoded, points, strict=True):
        assert got.lat == pytest.approx(lat, abs=1e-6) and got.lon == pytest.approx(lon, abs=1e-6)


@pytest.mark.parametrize("broken", ["_p~iF~ps|", "_p~iF", "_p~iF~ps|U \n"])
def test_broken_polyline_is_a_shape_error(broken: str) -> None:
    """A truncated string or one with foreign characters is a ResponseShapeError."""
    with pytest.raises(ResponseShapeError):
        decode_polyline(broken, precision=5)


def test_number_table_reads_nulls_and_checks_the_shape() -> None:
    """Null is NaN, negatives are 0, and a wrong size or a string is a ResponseShapeError."""
    table = number_table([[0, None], [-1.5, 7.25]], 2, 2, "t")
    assert np.isnan(table[0, 1]) and table[1, 0] == 0 and table[1, 1] == 7.25
    with pytest.raises(ResponseShapeError, match="t should have 3 rows"):
        number_table([[0, 1], [1, 0]], 3, 2, "t")
    with pytest.raises(ResponseShapeError, match=r"t\[0\]\[1\] should be a number"):
        number_table([[0, "1"]], 1, 2, "t")
    with pytest.raises(ResponseShapeError):
        number_table([[0, True]], 1, 2, "t")


def client_for(
    handler: Callable[[httpx.Request], httpx.Response], retries: int = 2
) -> RouterClient:
    transport = httpx.MockTransport(handler)
    return RouterClient(
        "http://router.test:5000/",
        name="Test",
        retry=RetryPolicy(retries=retries, backoff_s=0.0),
        transport=transport,
    )


def test_client_retries_5xx_and_returns_the_last_json_answer() -> None:
    """HTTP 500 is retried; when it persists its JSON body is handed back, not raised."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500, json={"error_code": 599, "error": "Unknown"})

    with client_for(handler) as client:
        reply = client.post_json("/route", {"locations": []})
    assert reply.status == 500 and reply.body["error_code"] == 599
    assert len(calls) == 3 and calls[0].url == "http://router.test:5000/route"


def test_client_does_not_retry_a_client_error() -> None:
    """HTTP 400 is an answer: one request, the JSON body returned."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"code": "InvalidQuery"})

    with client_for(handler) as client:
        assert client.get_json("/table/v1/driving/1,2;3,4").status == 400
    assert len(calls) == 1


def test_client_reports_429_after_the_retries_as_unavailable() -> None:
    """Rate limited on every attempt is RouterUnavailableError with the status."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, text="slow down")

    with client_for(handler, retries=1) as client, pytest.raises(RouterUnavailableError) as caught:
        client.get_json("/table/v1/driving/1,2;3,4")
    assert "HTTP 429" in caught.value.message and "http://router.test:5000" in caught.value.message


def test_client_refuses_a_body_that_is_not_json() -> None:
    """A non-JSON answer is a RouterError quoting the start of the body."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy error</html>")

    with client_for(handler) as client, pytest.raises(RouterError, match="proxy error"):
        client.get_json("/route/v1/driving/1,2;3,4")
