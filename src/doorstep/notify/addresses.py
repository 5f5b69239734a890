"""Which hosts a webhook may not be sent to: the service's own network.

A subscription names any URL; without this check it could make the service call
its database, a metadata endpoint or anything else on a private network
(server-side request forgery). The check resolves the host as the sender is
about to post; a name that resolves to a public address then to a private one
between the check and the connection (DNS rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import socket


def forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local, multicast, reserved or unspecified."""
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def private_address(host: str) -> str | None:
    """The first forbidden address ``host`` is or resolves to, or None.

    A host that does not resolve gives None: the POST then fails with its own error.
    """
    try:
        return str(ip) if forbidden(ip := ipaddress.ip_address(host)) else None
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if forbidden(ip):
            return str(ip)
    return None
