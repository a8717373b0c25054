"""A light per-address limit on the unauthenticated endpoints, kept in each instance's memory.

Register, login, refresh and logout answer anyone, and each costs at least one
Firestore read; a Firestore counter to limit them would cost a write per request,
more than what it guards. So each instance counts requests per client network in
fixed one-minute windows, in memory: a refusal costs no Firestore operation. An IPv4
address or an IPv6 /64 gets the limit; the /56 and /48 around a /64 get twice and
four times it, as the failed-login limits count them, so one holder of a /48 shares
four times the limit among its 65,536 /64s instead of getting it 65,536 times. With
N instances a network gets at most N times its limit.
"""

from __future__ import annotations

import threading
import time

from shared import errors
from shared.accounts.addresses import address_networks

# Networks remembered per window: past it, new networks go uncounted (the Firestore-backed
# login limits still hold) rather than letting a flood of addresses grow the instance's memory.
MAX_TRACKED = 50_000
WINDOW_SECONDS = 60

_lock = threading.Lock()
_window = 0
_counts: dict[str, int] = {}


def admit(address: str, per_minute: int) -> None:
    """Count one request from `address`; 429 with Retry-After once one of its networks made its share this minute.

    Its networks are the address's `address_networks`, narrowest first; the i-th may make
    `per_minute * 2**i` requests a minute. A refused request is not counted.
    """
    global _window
    now = time.time()
    window = int(now) // WINDOW_SECONDS
    networks = address_networks(address)
    with _lock:
        if window != _window:
            _window = window
            _counts.clear()
        seen = [_counts.get(network, 0) for network in networks]
        if any(count >= per_minute * 2**i for i, count in enumerate(seen)):
            retry_after = (window + 1) * WINDOW_SECONDS - now
            raise errors.TooManyRequests("Too many requests from this address; slow down.", int(retry_after) + 1)
        for network, count in zip(networks, seen, strict=True):
            if count or len(_counts) < MAX_TRACKED:
                _counts[network] = count + 1
