"""The functions' URLs, the extension's configuration, and the check of a deployment.

The check: health 200 with both backends connected, an extension-style CORS
preflight to capture admitted with the allow headers, a capture without token 401
problem JSON; with the project known, also the retry tick's target topic and the
age of the newest Firestore backup. One line of verdict.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime

from tools.deploy import functions, names, scheduler
from tools.deploy.gcloud import Failed, Gcloud, pause, say
from tools.deploy.settings import URL_RE, Settings

ANY_EXTENSION = "a" * 32
# A brand-new function can take a minute to become public: a failed pass is tried twice more, 20 s apart.
PASSES, PASS_DELAY = 3, 20
# A daily schedule's newest backup is at most a day old; two days means the schedule is not working.
BACKUP_STALE_HOURS = 48


def function_url(gcloud: Gcloud, settings: Settings, name: str) -> str:
    """URL of a deployed function (a placeholder in a dry run)."""
    if gcloud.dry_run:
        return f"https://{name}.example.invalid"
    url = gcloud.query("functions", "describe", name, "--gen2", f"--region={settings.region}",
                       "--format=value(serviceConfig.uri)")  # fmt: skip
    if url is None:
        raise Failed(f"function {name} is not deployed: run ./deploy.sh without --only first")
    if not URL_RE.fullmatch(url):
        raise Failed(f"unexpected URL for {name}: '{url}'")
    return url


def url_key(name: str) -> str:
    """Register -> registerUrl, capture-batch -> captureBatchUrl."""
    head, *rest = name.split("-")
    return head + "".join(word.title() for word in rest) + "Url"


def print_urls(gcloud: Gcloud, settings: Settings) -> tuple[str, str]:
    """List the URLs (stderr), print the extension's configuration JSON (stdout); the health and capture URLs."""
    if settings.only:
        if settings.only == functions.RETRY:
            return "", ""
        say(f"{settings.only}: {function_url(gcloud, settings, settings.only)}",
            "The other functions keep their URLs: the extension configuration is unchanged.")  # fmt: skip
        return "", ""
    config: dict[str, str] = {}
    if settings.single_url:
        base = function_url(gcloud, settings, functions.ROUTER)
        say(f"api: {base} (endpoints under /api/..., docs at {base}/api/docs)")
        config["baseUrl"] = base
        urls = {name: base + str(functions.PATHS[name]) for name in functions.PER_ENDPOINT}
    else:
        urls = {name: function_url(gcloud, settings, name) for name in functions.PER_ENDPOINT}
        say(*(f"{name}: {url}" for name, url in urls.items()))
    config |= {url_key(name): url for name, url in urls.items()}
    say("", "Extension configuration (paste it into the extension's settings):")
    print(json.dumps(config, indent=2), flush=True)
    return urls["health"], urls["capture"]


def deployed_urls(gcloud: Gcloud, settings: Settings) -> tuple[str, str] | None:
    """The URLs of the deployed health and capture (the router's paths with --single-url or --only api)."""
    if settings.single_url or settings.only == functions.ROUTER:
        base = _uri(gcloud, settings, functions.ROUTER)
        return (f"{base}/api/health", f"{base}/api/tweets/capture") if base else None
    health, capture = _uri(gcloud, settings, "health"), _uri(gcloud, settings, "capture")
    return (health, capture) if health and capture else None


def _uri(gcloud: Gcloud, settings: Settings, name: str) -> str | None:
    return gcloud.query("functions", "describe", name, "--gen2", f"--region={settings.region}",
                        "--format=value(serviceConfig.uri)")  # fmt: skip


def fetch(url: str, method: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, dict, str]:
    """(status, lower-cased headers, body) of one request; status 0 and the error for a network failure."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - checked URL
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode(errors="replace")
    except OSError as error:
        return 0, {}, str(error)


def check_once(health_url: str, capture_url: str, origin: str) -> list[str]:
    """The problems one pass of the three checks finds."""
    problems = []
    status, _, body = fetch(health_url, "GET", {})
    services = {}
    with contextlib.suppress(ValueError, AttributeError):
        services = json.loads(body).get("services", {}) if status == 200 else {}
    if status != 200:
        problems.append(f"health answered {status:03d}" + (f" ({body[:120]})" if status == 0 else ""))
    elif services.get("firestore") != "connected" or services.get("pubsub") != "connected":
        problems.append(f"health is not connected to both backends: {body.strip()[:160]}")
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    status, headers, _ = fetch(capture_url, "OPTIONS", preflight)
    allowed = {h.strip().lower() for h in headers.get("access-control-allow-headers", "").split(",")}
    if status not in (200, 204):
        problems.append(f"the capture preflight answered {status:03d}")
    elif headers.get("access-control-allow-origin") != origin:
        problems.append(f"the capture preflight does not admit {origin}")
    elif not {"authorization", "content-type"} <= allowed:
        problems.append(f"the capture preflight allows headers '{headers.get('access-control-allow-headers', '')}', "
                        "not authorization and content-type")  # fmt: skip
    status, headers, _ = fetch(capture_url, "POST", {"Origin": origin, "Content-Type": "application/json"}, b"{}")
    if status != 401:
        problems.append(f"a capture without a token answered {status:03d}, not 401")
    elif not headers.get("content-type", "").startswith("application/problem+json"):
        problems.append("a capture without a token answered 401 without problem JSON")
    return problems


def check_project(gcloud: Gcloud, settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, facts) of the retry tick's target topic and the newest Firestore backup."""
    problems, facts = [], []
    job = scheduler.describe_job(gcloud, settings.region)
    wanted = names.topic_path(settings.project, names.TICK_TOPIC)
    topic = (job or "").split("\t")[1] if job and job.count("\t") >= 1 else ""
    if job is None:
        problems.append(f"the scheduler job {names.TICK_JOB} does not exist: retry-queue never runs")
    elif topic != wanted:
        problems.append(f"the retry tick publishes to {topic or 'nothing'}, not {wanted}: retry-queue never runs")
    else:
        facts.append(f"retry tick publishes to {wanted}")
    location = gcloud.query("firestore", "databases", "describe", f"--database={names.DATABASE}",
                            "--format=value(locationId)")  # fmt: skip
    listing = gcloud.query("firestore", "backups", "list", f"--location={location}",
                           "--format=value(snapshotTime)") if location else None  # fmt: skip
    times = sorted(datetime.fromisoformat(line.strip().replace("Z", "+00:00")) for line in (listing or "").split())
    if times:
        hours = (datetime.now(UTC) - times[-1]).total_seconds() / 3600
        (problems if hours > BACKUP_STALE_HOURS else facts).append(f"newest backup {hours:.0f} h old")
    else:
        facts.append("no backup yet (the first comes within a day of the schedule)")
    return problems, facts


def verify(gcloud: Gcloud | None, settings: Settings, health_url: str, capture_url: str) -> bool:
    """Run the check (PASSES times at most) and print the verdict; whether it passed."""
    origin = f"chrome-extension://{settings.extension_id or ANY_EXTENSION}"
    problems, facts = [], []
    for attempt in range(1, PASSES + 1):
        problems = check_once(health_url, capture_url, origin)
        if not problems:
            break
        if attempt < PASSES:
            pause(PASS_DELAY)
    if gcloud is not None and not gcloud.dry_run:
        more, facts = check_project(gcloud, settings)
        problems += more
    if problems:
        say(f"verify: FAILED: {'; '.join(problems)}")
        return False
    say(f"verify: OK: health 200 (firestore and pubsub connected); capture preflight admits {origin} with "
        "authorization, content-type; capture without a token is 401 problem JSON"
        + "".join(f"; {fact}" for fact in facts))  # fmt: skip
    return True
