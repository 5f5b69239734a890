"""Which webhook hosts are the service's own network."""

from __future__ import annotations

from doorstep.notify.addresses import private_address


def test_private_loopback_and_link_local_addresses_are_caught() -> None:
    """Literal addresses of the service's own network, and localhost by name."""
    for host in ("127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "::1", "0.0.0.0"):
        assert private_address(host) is not None, host
    assert private_address("localhost") in ("127.0.0.1", "::1")


def test_public_and_unresolvable_hosts_pass() -> None:
    """A public address passes; a name that does not resolve is left to the POST to fail."""
    assert private_address("8.8.8.8") is None
    assert private_address("2001:4860:4860::8888") is None
    assert private_address("no-such-host.invalid") is None
