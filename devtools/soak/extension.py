"""Careful-extension clients: what each user's extension sends, what it was told, what it still holds.

A careful extension keeps every like until the server says `published`, `queued`
or `duplicate`; a network error, a 5xx, a 429 or a 503 means "send it again later".
Operations on one tweet never overlap (a tweet in flight is not sent again until
its answer, or its failure, is in), as one extension's local queue guarantees.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests

from devtools.samples import new_email, tweet_body

PASSWORD = "Soak-Correct-Horse-9"  # noqa: S105 - a throwaway account on the soak's own emulator
ACCEPTED = ("published", "queued", "duplicate")
REQUEST_TIMEOUT = 30.0


@dataclass
class Attempt:
    """One HTTP request: what, when, how long, and how it ended (status code or "network")."""

    kind: str
    started: float
    seconds: float
    outcome: int | str


@dataclass
class KeyRecord:
    """Everything the clients know about one (user, tweet)."""

    user_id: str
    tweet_id: str
    told: list[tuple[str, str]] = field(default_factory=list)  # (status, cause)
    failures: list[int | str] = field(default_factory=list)  # 5xx / 429 / network outcomes, in order
    state: str = "liked"  # the state the user last asked for and was acknowledged
    sent: int = 0
    awaiting_answer_after_failure: bool = False
    resolved_after_failure: bool = False


class Ledger:
    """The clients' shared record of requests and answers (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.keys: dict[tuple[str, str], KeyRecord] = {}
        self.duplicates: Counter[str] = Counter()
        self.anomalies: list[str] = []
        self.figures: Counter[str] = Counter()
        self.in_flight = 0

    def busy(self) -> bool:
        """Whether some request is waiting for its answer right now."""
        return self.in_flight > 0

    def key(self, user_id: str, tweet_id: str) -> KeyRecord:
        """The record of (user, tweet), created on first use."""
        with self.lock:
            record = self.keys.get((user_id, tweet_id))
            if record is None:
                record = self.keys[(user_id, tweet_id)] = KeyRecord(user_id, tweet_id)
            return record

    def attempt(self, kind: str, started: float, outcome: int | str) -> None:
        """Record one request."""
        with self.lock:
            self.attempts.append(Attempt(kind, started, time.time() - started, outcome))
            self.figures[f"requests {kind}"] += 1

    def count(self, name: str, counter: Counter[str] | None = None) -> None:
        """Add one to a figure (or to `counter`), safely from any client thread."""
        with self.lock:
            (self.figures if counter is None else counter)[name] += 1

    def anomaly(self, text: str) -> None:
        """Something a correct server never does."""
        with self.lock:
            self.anomalies.append(text)


def _retryable(outcome: int | str) -> bool:
    return outcome == "network" or outcome == 429 or (isinstance(outcome, int) and outcome >= 500)


class Extension:
    """One user's extension: its tokens, the tweets it knows, and what it still holds."""

    def __init__(self, base_url: str, ledger: Ledger, pool: Pool, seed: int, name: str, unlike: bool) -> None:
        self.base_url = base_url
        self.ledger = ledger
        self.pool = pool
        self.rng = random.Random(f"{seed}-{name}")
        self.name = name
        self.unlike_enabled = unlike
        self.email = new_email(f"soak-{name}")
        self.user_id = ""
        self.access = ""
        self.refresh_token = ""
        self.lock = threading.Lock()
        self.bodies: dict[str, dict[str, Any]] = {}
        self.state: dict[str, str] = {}  # acknowledged state per tweet id
        self.held: dict[str, str] = {}  # tweet id -> "like" / "unlike" waiting to be resent
        self.offline: list[str] = []  # new likes waiting for the next batch flush
        self.inflight: set[str] = set()
        self.next_refresh = time.monotonic() + self.rng.uniform(8, 20)
        self.session = requests.Session()

    # --- HTTP -----------------------------------------------------------------
    def _post(self, kind: str, path: str, body: dict[str, Any], auth: bool = True) -> tuple[int | str, Any]:
        headers = {"Origin": "chrome-extension://abcdefghijklmnopabcdefghijklmnop"}
        if auth:
            headers["Authorization"] = f"Bearer {self.access}"
        started = time.time()
        with self.ledger.lock:
            self.ledger.in_flight += 1
        try:
            response = self.session.post(self.base_url + path, json=body, headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.RequestException:
            self.ledger.attempt(kind, started, "network")
            self.session = requests.Session()
            return "network", None
        finally:
            with self.ledger.lock:
                self.ledger.in_flight -= 1
        self.ledger.attempt(kind, started, response.status_code)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        return response.status_code, payload

    def listing(self) -> list[dict[str, Any]] | None:
        """Every capture of the user through `GET /api/tweets`, page by page; None if a page failed."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            started = time.time()
            try:
                response = self.session.get(
                    self.base_url + "/api/tweets",
                    params=params,
                    headers={"Authorization": f"Bearer {self.access}"},
                    timeout=REQUEST_TIMEOUT,
                )
            except requests.RequestException:
                self.ledger.attempt("list", started, "network")
                return None
            self.ledger.attempt("list", started, response.status_code)
            if response.status_code != 200:
                return None
            page = response.json()
            items.extend(page["tweets"])
            cursor = page["nextCursor"]
            if cursor is None:
                return items
        return None

    def register(self) -> None:
        """Create the account (retried: the stack may be busy at start).

        A 409 means an earlier attempt created the account but its answer was lost
        (a commit that outlived its deadline on a loaded machine): log in instead,
        as an extension would.
        """
        credentials = {"email": self.email, "password": PASSWORD}
        seen: list[int | str] = []
        for _ in range(20):
            status, body = self._post("register", "/api/auth/register", credentials, False)
            if status == 409:
                self.ledger.count("registrations answered 409 (logged in)")
                seen.append(status)
                status, body = self._post("login", "/api/auth/login", credentials, False)
            seen.append(status)
            if status in (200, 201):
                self._keep_tokens(body)
                self.user_id = body["userId"]
                return
            time.sleep(1)
        raise RuntimeError(f"could not register {self.email}: answers {seen}")

    def _keep_tokens(self, body: dict[str, Any]) -> None:
        with self.lock:
            self.access = body["accessToken"]
            if body.get("refreshToken"):
                self.refresh_token = body["refreshToken"]

    def refresh(self) -> None:
        """Refresh with rotation: always keep the new refresh token; log in again if the session is gone."""
        status, body = self._post("refresh", "/api/auth/refresh", {"refreshToken": self.refresh_token}, False)
        if status == 200:
            self._keep_tokens(body)
            self.ledger.count("token refreshes")
            self.next_refresh = time.monotonic() + self.rng.uniform(8, 20)
        elif status == 401:
            self.ledger.count("sessions lost (logged in again)")
            self.login()
        else:
            # Keep the same refresh token and try again soon: a refresh whose answer was lost
            # may have rotated it, and only a retry within the grace window gets the new one.
            self.ledger.count("refreshes to retry")
            self.next_refresh = time.monotonic() + 1.0

    def login(self) -> None:
        """Log in again with the password."""
        for _ in range(30):
            status, body = self._post("login", "/api/auth/login", {"email": self.email, "password": PASSWORD}, False)
            if status == 200:
                self._keep_tokens(body)
                self.next_refresh = time.monotonic() + self.rng.uniform(8, 20)
                return
            time.sleep(1)
        self.ledger.anomaly(f"{self.name}: could not log in again")

    # --- choosing ---------------------------------------------------------------
    def _new_tweet(self) -> str:
        tweet_id = str(self.rng.randint(10**18, 2**63 - 1))
        self.bodies[tweet_id] = tweet_body(tweetId=tweet_id, tweetText=f"soak {self.name} {tweet_id}")
        return tweet_id

    def _take(self, tweet_ids: list[str]) -> list[str]:
        """Mark tweets in flight; the ones that were not already."""
        with self.lock:
            free = [t for t in tweet_ids if t not in self.inflight]
            self.inflight.update(free)
            return free

    def _release(self, tweet_ids: list[str]) -> None:
        with self.lock:
            self.inflight.difference_update(tweet_ids)

    def _hold(self, tweet_id: str, op: str, outcome: int | str) -> None:
        with self.lock:
            self.held[tweet_id] = op
        record = self.ledger.key(self.user_id, tweet_id)
        record.failures.append(outcome)
        record.awaiting_answer_after_failure = True

    def _acknowledged(self, tweet_id: str, status: str, cause: str, state: str) -> None:
        record = self.ledger.key(self.user_id, tweet_id)
        with self.lock:
            self.held.pop(tweet_id, None)
            self.state[tweet_id] = state
        record.told.append((status, cause))
        record.state = state
        if record.awaiting_answer_after_failure:
            record.awaiting_answer_after_failure = False
            record.resolved_after_failure = True
        self.pool.add(self.name, tweet_id, self.bodies[tweet_id])

    def _cause(self, tweet_id: str, repeat: bool, in_batch: bool) -> str:
        record = self.ledger.key(self.user_id, tweet_id)
        if in_batch:
            return "in-batch repeat"
        if repeat:
            return "exact repeat"
        if record.failures:
            return "resend after a failed attempt"
        return "first send"

    # --- single operations -----------------------------------------------------
    def capture(self, tweet_id: str, repeat: bool = False) -> None:
        """Send one like; keep it on any retryable failure."""
        if not self._take([tweet_id]):
            return
        try:
            cause = self._cause(tweet_id, repeat, False)
            self.ledger.key(self.user_id, tweet_id).sent += 1
            status, body = self._post("capture", "/api/tweets/capture", self.bodies[tweet_id])
            if status == 200 and body and body.get("status") in ACCEPTED:
                self._told(tweet_id, body["status"], cause, "liked")
            elif status == 401:
                self._hold(tweet_id, "like", status)
                self.refresh()
            elif _retryable(status):
                self._hold(tweet_id, "like", status)
            else:
                self.ledger.anomaly(f"capture {self.user_id}_{tweet_id}: {status} {str(body)[:200]}")
        finally:
            self._release([tweet_id])

    def unlike(self, tweet_id: str) -> None:
        """Take a like back; keep the unlike on any retryable failure."""
        if not self._take([tweet_id]):
            return
        try:
            status, body = self._post("unlike", "/api/tweets/unlike", {"tweetId": tweet_id})
            if status == 200 and body and body.get("status") in ("unliked", "already_unliked"):
                self._acknowledged(tweet_id, body["status"], "unlike", "unliked")
            elif status == 401:
                self._hold(tweet_id, "unlike", status)
                self.refresh()
            elif _retryable(status):
                self._hold(tweet_id, "unlike", status)
            else:
                self.ledger.anomaly(f"unlike {self.user_id}_{tweet_id}: {status} {str(body)[:200]}")
        finally:
            self._release([tweet_id])

    def _told(self, tweet_id: str, status: str, cause: str, state: str) -> None:
        previous = self.state.get(tweet_id)
        if status == "duplicate":
            self.ledger.count(cause, self.ledger.duplicates)
            if cause == "first send" and previous is None:
                self.ledger.anomaly(f"{self.user_id}_{tweet_id}: duplicate on its first send")
        elif previous == "liked" and cause in ("exact repeat", "in-batch repeat"):
            self.ledger.anomaly(f"{self.user_id}_{tweet_id}: {status} for a tweet already captured")
        self._acknowledged(tweet_id, status, cause, state)

    # --- batches -----------------------------------------------------------------
    def flush(self, size: int, fresh: bool) -> None:
        """Send the offline likes and held likes as one batch of `size` (padded with new likes when `fresh`)."""
        with self.lock:
            waiting = [t for t, op in self.held.items() if op == "like"]
            candidates = self.offline + [t for t in waiting if t not in self.offline]
        candidates = candidates[:size]
        while fresh and len(candidates) < size:
            candidates.append(self._new_tweet())
        tweet_ids = self._take(candidates)
        if not tweet_ids:
            return
        with self.lock:
            self.offline = [t for t in self.offline if t not in tweet_ids]
        items: list[str] = []
        for tweet_id in tweet_ids:
            items.append(tweet_id)
            if self.rng.random() < 0.1 and len(items) < 100:
                items.append(tweet_id)
        items = items[:100]
        try:
            for tweet_id in set(items):
                self.ledger.key(self.user_id, tweet_id).sent += 1
            status, body = self._post("batch", "/api/tweets/capture/batch", {"tweets": [self.bodies[t] for t in items]})
            if status == 200 and body and isinstance(body.get("results"), list):
                self._batch_results(items, body["results"])
            else:
                for tweet_id in set(items):
                    if status == 401 or _retryable(status):
                        self._hold(tweet_id, "like", status)
                    else:
                        self.ledger.anomaly(f"batch {self.user_id}_{tweet_id}: {status} {str(body)[:200]}")
                if status == 401:
                    self.refresh()
        finally:
            self._release(tweet_ids)

    def _batch_results(self, items: list[str], results: list[dict[str, Any]]) -> None:
        seen: set[str] = set()
        if len(results) != len(items):
            self.ledger.anomaly(f"batch of {len(items)} answered {len(results)} results")
        for index, (tweet_id, result) in enumerate(zip(items, results, strict=False)):
            status = result.get("status")
            if result.get("index") != index or result.get("tweetId") != tweet_id:
                self.ledger.anomaly(f"batch result {index} is {result}")
            in_batch = tweet_id in seen
            seen.add(tweet_id)
            if status in ACCEPTED:
                cause = self._cause(tweet_id, False, in_batch)
                if in_batch and status != "duplicate":
                    self.ledger.anomaly(f"{self.user_id}_{tweet_id}: in-batch repeat answered {status}")
                self._told(tweet_id, status, cause, "liked")
            elif status == "rate_limited":
                self._hold(tweet_id, "like", 429)
            else:
                self.ledger.anomaly(f"batch {self.user_id}_{tweet_id}: {result}")

    # --- the two loops -----------------------------------------------------------
    def held_count(self) -> int:
        """Tweets still held (waiting to be resent) or waiting for a flush."""
        with self.lock:
            return len(self.held) + len(self.offline)

    def like_loop(self, running: threading.Event, flushing: threading.Event) -> None:
        """Single likes, repeats, other users' tweets, unlikes, re-likes, refreshes; then resend what is held."""
        while running.is_set() or (flushing.is_set() and self.held_count()):
            time.sleep(self.rng.uniform(0.05, 0.25))
            if time.monotonic() >= self.next_refresh:
                self.refresh()
            with self.lock:
                held = list(self.held.items())
                liked = [t for t, s in self.state.items() if s == "liked" and t not in self.held]
                unliked = [t for t, s in self.state.items() if s == "unliked" and t not in self.held]
            if held and (not running.is_set() or self.rng.random() < 0.3):
                tweet_id, op = self.rng.choice(held)
                self.unlike(tweet_id) if op == "unlike" else self.capture(tweet_id)
                continue
            if not running.is_set():
                continue
            roll = self.rng.random()
            if roll < 0.10 and liked:
                self.capture(self.rng.choice(liked), repeat=True)
            elif roll < 0.15:
                other = self.pool.other(self.name, self.rng, exclude=self.bodies)
                if other:
                    self.bodies[other[0]] = other[1]
                    self.ledger.count("other users' tweets")
                    self.capture(other[0])
            elif roll < 0.20 and self.unlike_enabled and liked:
                self.unlike(self.rng.choice(liked))
            elif roll < 0.23 and self.unlike_enabled and unliked:
                self.ledger.count("re-likes sent")
                self.capture(self.rng.choice(unliked))
            elif roll < 0.50:
                tweet_id = self._new_tweet()
                with self.lock:
                    self.offline.append(tweet_id)
            else:
                self.capture(self._new_tweet())

    def flush_loop(self, running: threading.Event, flushing: threading.Event) -> None:
        """Batch flushes of 10 to 100 every few seconds; at the end, flush until nothing is held."""
        while running.is_set() or (flushing.is_set() and self.held_count()):
            time.sleep(self.rng.uniform(2.0, 5.0) if running.is_set() else 0.5)
            self.flush(self.rng.randint(10, 100), fresh=running.is_set())


class Pool:
    """Tweets acknowledged to any user, so a user can like a tweet another user liked."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_user: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)

    def add(self, user: str, tweet_id: str, body: dict[str, Any]) -> None:
        """Remember an acknowledged tweet of `user`."""
        with self.lock:
            self.by_user[user][tweet_id] = body

    def other(self, user: str, rng: random.Random, exclude: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """A tweet some other user has and `user` does not know yet."""
        with self.lock:
            options = [(t, b) for u, tweets in self.by_user.items() if u != user for t, b in tweets.items()]
        options = [o for o in options if o[0] not in exclude][:500]
        return rng.choice(options) if options else None
