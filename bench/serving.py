"""Shared by the service benchmarks: wait for a `doorstep serve` started in a subprocess."""

from __future__ import annotations

import time

import httpx


def wait_until_serving(base: str, timeout_s: float = 120.0) -> None:
    """Return once ``base`` answers its OpenAPI document; past ``timeout_s``, re-raise."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
