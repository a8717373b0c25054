"""The client address from X-Forwarded-For, and the rate-limit bucket it falls in."""

import pytest

from shared.accounts.addresses import UNKNOWN, address_networks, client_address


@pytest.mark.parametrize(
    ("forwarded_for", "hops", "expected"),
    [
        ("203.0.113.7", 1, "203.0.113.7"),
        ("1.1.1.1, 203.0.113.7", 1, "203.0.113.7"),  # a spoofed left-hand entry is ignored
        ("evil, 10.0.0.1,203.0.113.7", 1, "203.0.113.7"),
        ("203.0.113.7, 198.51.100.1", 2, "203.0.113.7"),  # behind a load balancer: client, LB
        ("1.1.1.1, 203.0.113.7, 198.51.100.1", 2, "203.0.113.7"),
        ("203.0.113.7", 2, "203.0.113.7"),  # fewer entries than hops: the left-most, a proxy wrote it
        ("2001:db8::1", 1, "2001:db8::1"),
        ("2001:DB8:0:0::1", 1, "2001:db8::1"),  # written canonically
        ("[2001:db8::1]:443", 1, "2001:db8::1"),
        ("203.0.113.7:51234", 1, "203.0.113.7"),
        ("::ffff:203.0.113.7", 1, "203.0.113.7"),  # IPv4-mapped is the IPv4 client
        (" 203.0.113.7 ", 1, "203.0.113.7"),
    ],
)
def test_the_client_is_the_entry_the_trusted_hops_point_at(forwarded_for: str, hops: int, expected: str) -> None:
    """The `hops`-th entry from the right, validated and written canonically."""
    assert client_address(forwarded_for, "127.0.0.1", hops) == expected


@pytest.mark.parametrize(
    "forwarded_for",
    ["garbage", "203.0.113.7, not-an-ip", "999.999.999.999", "", ",", "203.0.113.7,", "1.2.3", "\u0661.2.3.4",
     ", ".join(["999.999.999.999"] * 500), "203.0.113.7%eth0"],
)  # fmt: skip
def test_garbage_falls_back_to_one_shared_bucket(forwarded_for: str) -> None:
    """Whatever is not an IP address where the trusted entry should be gives "unknown", never the raw text."""
    assert client_address(forwarded_for, None, 1) == UNKNOWN


def test_no_header_or_zero_hops_takes_the_socket_peer() -> None:
    """Without X-Forwarded-For, or with TRUSTED_PROXY_HOPS=0, the peer address counts."""
    assert client_address(None, "192.0.2.5", 1) == "192.0.2.5"
    assert client_address("203.0.113.7", "192.0.2.5", 0) == "192.0.2.5"
    assert client_address(None, "not an address", 1) == UNKNOWN


def test_ipv6_addresses_count_by_their_64_56_and_48() -> None:
    """Addresses in one /64 share its networks, narrowest first; the next /64 is another; IPv4 is one address."""
    same = {tuple(address_networks(a)) for a in ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff")}
    assert same == {("2001:db8:1:2::/64", "2001:db8:1::/56", "2001:db8:1::/48")}
    assert address_networks("2001:db8:1:3::1")[0] != address_networks("2001:db8:1:2::1")[0]
    assert address_networks("203.0.113.7") == ["203.0.113.7"] != address_networks("203.0.113.8")
    assert address_networks(UNKNOWN) == [UNKNOWN]
