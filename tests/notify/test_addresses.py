"""Which webhook hosts are the service's own network."""

from __future__ import annotations

from doorstep.notify.addresses import literal_address, private_address


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


LEGACY_LOOPBACK = ("2130706433", "0x7f000001", "0X7F000001", "127.1", "0177.0.0.1", "0x7f.1")
"""127.0.0.1 written the ways inet_aton (and so the resolver) still reads."""


def test_legacy_numeric_forms_are_read_as_the_resolver_reads_them() -> None:
    """Decimal, hex, octal and short forms of 127.0.0.1 are that address, found without DNS."""
    for host in LEGACY_LOOPBACK:
        assert str(literal_address(host)) == "127.0.0.1", host
        assert private_address(host) == "127.0.0.1", host
    assert str(literal_address("167772161")) == "10.0.0.1"
    assert literal_address("shop.example") is None
    assert literal_address("cafe.be") is None


def test_ipv6_forms_of_private_ipv4_addresses_are_caught() -> None:
    """An IPv4-mapped or 6to4 address of the loopback or a private network is private too."""
    for host in ("::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.1", "2002:7f00:1::"):
        assert private_address(host) is not None, host
