"""The client's address as the platform's front end reports it, and the networks its limits count.

Google's front end appends the address of the peer it accepted the connection from
to `X-Forwarded-For`, after whatever the client itself put there ("Request Headers
in Cloud Functions", https://cloud.google.com/functions/docs/reference/headers:
a comma-delimited list, client first, then each proxy that handled the request).
Only entries appended by proxies we trust can be believed, so the client is the
entry `TRUSTED_PROXY_HOPS` places from the right: 1 for a direct Cloud Run or
Cloud Functions URL; 2 behind an external Application Load Balancer, which appends
`<immediate client IP>, <forwarding rule IP>` ("External Application Load Balancer
overview", https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header);
0 trusts no header and takes the socket's peer (no proxy at all).
"""

from __future__ import annotations

import ipaddress

UNKNOWN = "unknown"
MAX_ENTRIES = 64


def _parse(entry: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    entry = entry.strip()
    if entry.startswith("[") and "]" in entry:  # "[2001:db8::1]:443"
        entry = entry[1 : entry.index("]")]
    elif entry.count(":") == 1:  # "203.0.113.7:443"
        entry = entry.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(entry)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(forwarded_for: str | None, remote_addr: str | None, hops: int) -> str:
    """The client's address: the `hops`-th X-Forwarded-For entry from the right, validated.

    With fewer entries than `hops` the left-most one is taken (it was still appended by
    a proxy). Anything that is not an IP address, there or in `remote_addr`, gives
    "unknown": one shared bucket, never one the client can choose.
    """
    if hops > 0 and forwarded_for:
        entries = forwarded_for.split(",")[-MAX_ENTRIES:]
        chosen = _parse(entries[-min(hops, len(entries))])
        return str(chosen) if chosen is not None else UNKNOWN
    peer = _parse(remote_addr or "")
    return str(peer) if peer is not None else UNKNOWN


# The IPv6 networks an address is counted in, narrowest first: a subscriber's /64 (counting each of its
# addresses apart would hand one subscriber 2**64 fresh budgets), and the /56 and /48 that a home, an
# office or a rented server usually holds whole (RFC 6177).
IPV6_PREFIXES = (64, 56, 48)


def address_networks(address: str) -> list[str]:
    """Every rate-limit subject of an address, narrowest first: itself for IPv4, its /64, /56 and /48 for IPv6."""
    parsed = _parse(address)
    if parsed is None:
        return [UNKNOWN]
    if isinstance(parsed, ipaddress.IPv6Address):
        return [str(ipaddress.IPv6Network((parsed, prefix), strict=False)) for prefix in IPV6_PREFIXES]
    return [str(parsed)]
