"""The one declaration of every endpoint: entry point, path, methods, body, answers, token.

`main.py` (which modules to load, which functions need JWT_SECRET_KEY), the
`api` router (its table and each path's methods), `shared.web.edge.endpoint` (the
method check) and the OpenAPI document (its paths) are all derived from
`ENDPOINTS`; deploy.sh is checked against it by a test. Adding an endpoint is a
module in `functions/` plus one entry here. Pure data: importing this module
costs nothing at cold start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

MAX_BODY_BYTES = 64 * 1024  # a request body's limit unless its endpoint declares another
MIB = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    """One documented response: its description and the OpenAPI component that is its body."""

    description: str
    schema: str | None = None
    retry_after: bool = False


@dataclass(frozen=True)
class Endpoint:
    """One endpoint; `entry_point` is None for the router's own pages, `path` None for a CloudEvent function."""

    entry_point: str | None
    path: str | None
    summary: str
    tag: str
    methods: tuple[str, ...] = ("POST",)
    kind: str = "http"
    request: str | None = None
    query: str | None = None
    bearer: bool = False
    needs_jwt: bool = False
    uses_firestore: bool = True
    rate_limited: bool = False
    max_body: int = MAX_BODY_BYTES
    description: str = ""
    answers: MappingProxyType[int, Answer] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def module(self) -> str | None:
        """The module in `functions/` that defines the entry point."""
        return f"functions.{self.entry_point}" if self.entry_point else None

    @property
    def operation_id(self) -> str:
        """The OpenAPI operationId: the entry point's name in camelCase."""
        head, *rest = (self.entry_point or self.tag_page).split("_")
        return head + "".join(word.title() for word in rest)

    @property
    def tag_page(self) -> str:
        """A name for a router-only page (the last segment of its path)."""
        return (self.path or "").rsplit("/", 1)[-1].replace(".json", "")


def _answers(**by_status: Answer) -> MappingProxyType[int, Answer]:
    return MappingProxyType({int(status.lstrip("s")): answer for status, answer in by_status.items()})


_RATE_LIMIT = (
    "At most RATE_LIMIT_PER_MINUTE (default 100) captures per user per minute, "
    "and DAILY_CAPTURE_LIMIT (default 50,000) tweets a day with batch captures."
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "register",
        "/api/auth/register",
        "Create an account and its first session",
        "auth",
        request="Registration",
        needs_jwt=True,
        rate_limited=True,
        description=(
            "A deployment with REGISTRATION_CODE or ALLOWED_EMAILS set is closed: the code (when set) is "
            "spent by the one registration that presents it, and every refusal (a wrong or spent code, an "
            "e-mail not allowed or already taken) is the same 403 after the same bcrypt hash. An open "
            "deployment answers 409 for a taken e-mail. At most AUTH_RATE_LIMIT_PER_MINUTE requests per "
            "client address per minute to each instance's register, login, refresh and logout."
        ),
        answers=_answers(
            s201=Answer("The account was created.", "AuthGrant"),
            s403=Answer("A closed deployment refused this registration (one answer for every reason)."),
            s409=Answer("An open deployment already has an account with this e-mail."),
        ),
    ),
    Endpoint(
        "login",
        "/api/auth/login",
        "Exchange e-mail and password for tokens",
        "auth",
        request="Credentials",
        needs_jwt=True,
        description=(
            "Failed logins are limited per client network (an IPv4 address; an IPv6 /64, /56 and /48 with 1, 2 "
            "and 4 times the thresholds) and per e-mail, in 15-minute windows. After 5 failures a network waits "
            "1, 2, 4, 8, 16, then 30 s between attempts, and after 20 it is refused until the window ends; "
            "failures from one address never refuse a correct login of the same e-mail from another. After 100 "
            "failures at one e-mail, from all addresses together, an address that has failed itself waits 1, 2, "
            "4, ... up to 60 s after the last failure. Every 401 takes one bcrypt check at the stored or the "
            "configured cost, whichever is higher; a 429 takes none and writes nothing."
        ),
        answers=_answers(
            s200=Answer("Logged in.", "AuthGrant"),
            s401=Answer("Unknown e-mail or wrong password (one answer for both)."),
            s403=Answer("The account is disabled."),
            s429=Answer("Too many failed logins, or too many requests from this address.", retry_after=True),
        ),
    ),
    Endpoint(
        "refresh",
        "/api/auth/refresh",
        "A new access token for a live refresh token",
        "auth",
        request="RefreshRequest",
        needs_jwt=True,
        rate_limited=True,
        answers=_answers(
            s200=Answer("A fresh access token.", "RefreshGrant"),
            s401=Answer("The refresh token is invalid, expired or revoked."),
            s403=Answer("The account is disabled."),
        ),
    ),
    Endpoint(
        "logout",
        "/api/auth/logout",
        "Revoke the session of a refresh token, or with everywhere every session of its user",
        "auth",
        request="LogoutRequest",
        needs_jwt=True,
        rate_limited=True,
        description=(
            "Only the session's current refresh token revokes it (or its previous one within the grace window); "
            "`everywhere` takes the current token only. Any other token changes nothing and is still a 204."
        ),
        answers=_answers(s204=Answer("Logged out (also for an unknown or already revoked token).")),
    ),
    Endpoint(
        "capture",
        "/api/tweets/capture",
        "Store a liked tweet once and publish it to Pub/Sub",
        "tweets",
        request="TweetCapture",
        bearer=True,
        needs_jwt=True,
        rate_limited=True,
        description=_RATE_LIMIT,
        answers=_answers(s200=Answer("Published, queued for retry, or already captured.", "CaptureResult")),
    ),
    Endpoint(
        "capture_batch",
        "/api/tweets/capture/batch",
        "Capture up to 100 liked tweets at once, with one result per tweet",
        "tweets",
        request="CaptureBatch",
        bearer=True,
        needs_jwt=True,
        max_body=MIB,
        description=(
            "For an extension flushing its offline queue and for archive imports. Each item is what "
            "/api/tweets/capture takes and keeps its guarantees; an invalid, repeated or over-budget item is "
            "reported in its place without stopping the others. At most BATCH_RATE_LIMIT_PER_MINUTE (default "
            "1,000) tweets per user per minute and DAILY_CAPTURE_LIMIT (default 50,000) a day; `rate_limited` "
            "items were not stored: send them again after Retry-After."
        ),
        answers=_answers(s200=Answer("One result per item, in request order, and a summary.", "BatchResult")),
    ),
    Endpoint(
        "lookup",
        "/api/tweets/lookup",
        "Which of these tweets the user has captured, and how each stands",
        "tweets",
        request="LookupRequest",
        bearer=True,
        needs_jwt=True,
        description=(
            "Up to 500 ids in one batched read: for each distinct id `published`, `queued` (stored, not yet on "
            "the topic), `failed` (the replay gave up), `unliked` or `absent`, and when it was captured. Another "
            "user's captures are always `absent`. Each distinct id counts against the user's read budget "
            "(READ_LIMIT_PER_MINUTE, DAILY_READ_LIMIT; a request counts at least 10)."
        ),
        rate_limited=True,
        answers=_answers(s200=Answer("One entry per distinct requested id.", "LookupResult")),
    ),
    Endpoint(
        "list_tweets",
        "/api/tweets",
        "The user's captures, oldest first, page by page",
        "tweets",
        methods=("GET",),
        query="ListQuery",
        bearer=True,
        needs_jwt=True,
        description=(
            "Paging from no cursor until `nextCursor` is null yields every capture exactly once, even while new "
            "ones arrive (they appear on later pages). A cursor from another user or altered is a 400. Each "
            "document a page reads (`limit` + 1 at most) counts against the user's read budget "
            "(READ_LIMIT_PER_MINUTE, DAILY_READ_LIMIT; a request counts at least 10); a page that might not fit "
            "is a 429."
        ),
        rate_limited=True,
        answers=_answers(s200=Answer("A page of captures and the cursor of the next one.", "TweetPage")),
    ),
    Endpoint(
        "unlike",
        "/api/tweets/unlike",
        "The user took a like back: keep the capture, publish an `unliked` event",
        "tweets",
        request="UnlikeRequest",
        bearer=True,
        needs_jwt=True,
        description=(
            "The capture is kept with `unlikedAt` and one message with `event: unliked` goes through the outbox "
            "(queued when Pub/Sub is down). Capturing the tweet again likes it again."
        ),
        answers=_answers(
            s200=Answer("`unliked`, or `already_unliked` for a repeat (nothing published).", "UnlikeResult"),
            s404=Answer("This account never captured the tweet."),
        ),
    ),
    Endpoint(
        "republish",
        "/api/tweets/republish",
        "Send captures to the topic again, marked replay, to rebuild a downstream index",
        "owner",
        request="RepublishRequest",
        bearer=True,
        needs_jwt=True,
        rate_limited=True,
        description=(
            "By `tweetIds` (1 to 500), or every capture created at or after `since`, oldest first, up to 500 a call "
            "(send `nextCursor` back until it is null). Each capture's current event (`liked` with the stored "
            "tweet, or `unliked`) goes through the outbox again with its current `sequence` and the attribute "
            '`replay: "true"`; a Pub/Sub outage queues it. They count against the batch capture budget and the '
            "documents read (one per id, or a page of at most 501) against the read budget, reserved before "
            "anything is read: by ids all or none (429 with Retry-After, nothing written); by `since` a page holds "
            "what both budgets have room for. Ids this account never captured are `absent`."
        ),
        answers=_answers(s200=Answer("How many were published and queued, and the next cursor.", "RepublishResult")),
    ),
    Endpoint(
        "queue_status",
        "/api/queue",
        "The caller's queue items that have not reached the topic yet, and why",
        "owner",
        methods=("GET",),
        query="QueueQuery",
        bearer=True,
        needs_jwt=True,
        description=(
            "`pending`: not tried by the replay yet (the capture's own publish may have failed: `lastError`); "
            "`retrying`: tried at least once by the replay, tried again at `nextAttemptAt`; `failed`: the replay "
            "gave up after MAX_RETRY_ATTEMPTS (retry it with POST /api/queue/retry). Oldest first; a cursor from "
            "another user or altered is a 400. A page's documents count against the read budget, as a listing's."
        ),
        rate_limited=True,
        answers=_answers(s200=Answer("A page of queue items and the cursor of the next one.", "QueuePage")),
    ),
    Endpoint(
        "queue_retry",
        "/api/queue/retry",
        "Give the caller's failed queue items another run",
        "owner",
        request="QueueRetryRequest",
        bearer=True,
        needs_jwt=True,
        description=(
            '`{}` retries every `failed` item of the caller, `{"tweetIds": [...]}` only those of these tweets: each '
            "is pending again with its attempts reset, and the next replay run publishes it."
        ),
        answers=_answers(s200=Answer("How many items are pending again.", "QueueRetryResult")),
    ),
    Endpoint(
        "health",
        "/api/health",
        "Whether Firestore and Pub/Sub are reachable",
        "ops",
        methods=("GET",),
        answers=_answers(
            s200=Answer("Both backends are connected.", "Health"),
            s503=Answer("A backend is disconnected.", "Health", retry_after=True),
        ),
    ),
    Endpoint(
        "api",
        None,
        "Every endpoint under its /api path, in one function",
        "ops",
        methods=(),
        needs_jwt=True,
    ),
    Endpoint(
        "retry_queue",
        None,
        "Replay the retry queue on Cloud Scheduler's tick",
        "ops",
        methods=(),
        kind="cloudevent",
    ),
    Endpoint(
        None,
        "/api/openapi.json",
        "This document",
        "ops",
        methods=("GET",),
        uses_firestore=False,
        answers=_answers(s200=Answer("The OpenAPI document.", "OpenApiDocument")),
    ),
    Endpoint(
        None,
        "/api/docs",
        "Human-readable API documentation",
        "ops",
        methods=("GET",),
        uses_firestore=False,
        answers=_answers(s200=Answer("An HTML page.", "HtmlPage")),
    ),
)

BY_ENTRY_POINT: MappingProxyType[str, Endpoint] = MappingProxyType(
    {e.entry_point: e for e in ENDPOINTS if e.entry_point}
)
BY_PATH: MappingProxyType[str, Endpoint] = MappingProxyType({e.path: e for e in ENDPOINTS if e.path})
ENTRY_POINTS: tuple[str, ...] = tuple(sorted(BY_ENTRY_POINT))
NEEDS_JWT: frozenset[str] = frozenset(name for name, e in BY_ENTRY_POINT.items() if e.needs_jwt)
HTTP_FUNCTIONS: tuple[str, ...] = tuple(n for n in ENTRY_POINTS if BY_ENTRY_POINT[n].kind == "http")
