"""Which hosts a webhook may not be sent to: the service's own network.

A subscription names any URL; without this check it could make the service call
its database, a metadata endpoint or anything else on a private network
(server-side request forgery). The check resolves the host as the sender is
about to post; a name that resolves to a public address then to a private one
between the check and the connection (DNS rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NUMERIC_IPV4 = re.compile(r"[0-9a-fA-FxX.]+")
"""The characters of an IPv4 address in any of the forms ``inet_aton`` reads."""


def forbidden(ip: IPAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified.

    An IPv6 address that embeds an IPv4 one (``::ffff:127.0.0.1``, or 6to4
    ``2002:7f00:1::``) is judged by the IPv4 address too.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None and forbidden(embedded):
            return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names without a DNS lookup, the way the resolver reads it.

    Besides the usual forms (``127.0.0.1``, ``::1``) this reads the legacy IPv4
    forms that ``getaddrinfo`` (through ``inet_aton``) accepts and that would
    otherwise pass as names: one number (``2130706433``), hexadecimal
    (``0x7f000001``), octal parts (``0177.0.0.1``) and fewer than four parts
    (``127.1``).

    Parameters
    ----------
    host
        A URL's host, without brackets.

    Returns
    -------
    IPv4Address or IPv6Address or None
        The address, or None for a name.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_IPV4.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def private_address(host: str) -> str | None:
    """The first forbidden address ``host`` is or resolves to, or None.

    A host that does not resolve gives None: the POST then fails with its own error.
    """
    if (literal := literal_address(host)) is not None:
        return str(literal) if forbidden(literal) else None
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if forbidden(ip):
            return str(ip)
    return None
