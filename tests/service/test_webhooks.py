"""The rules of webhook subscriptions: which URLs are refused at creation."""

from __future__ import annotations

import pytest

from doorstep.service.webhooks import url_problem

NUMERIC_PRIVATE = {
    "http://2130706433/hook": "127.0.0.1",
    "http://0x7f000001/hook": "127.0.0.1",
    "http://127.1/hook": "127.0.0.1",
    "http://0177.0.0.1/hook": "127.0.0.1",
    "http://0x7f.1:8080/hook": "127.0.0.1",
    "http://167772161/hook": "10.0.0.1",
    "http://0xa9fea9fe/latest/meta-data": "169.254.169.254",
    "http://[::ffff:127.0.0.1]/hook": "::ffff:127.0.0.1",
    "http://localhost./hook": "localhost.",
}


@pytest.mark.parametrize("url", sorted(NUMERIC_PRIVATE))
def test_numeric_forms_of_private_addresses_are_refused_at_creation(url: str) -> None:
    """Every form the resolver reads as a private address is refused, naming the address."""
    problem = url_problem(url, allow_private=False)
    assert problem is not None and "private address" in problem, url
    assert NUMERIC_PRIVATE[url] in problem
    assert url_problem(url, allow_private=True) is None


def test_public_numeric_forms_and_names_pass() -> None:
    """A public address in a legacy form, and host names, are left to the sender's check."""
    for url in ("http://134744072/hook", "http://8.8.8.8/hook", "https://shop.example/hook"):
        assert url_problem(url, allow_private=False) is None, url
