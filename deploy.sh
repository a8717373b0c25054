#!/usr/bin/env bash
# Deploys Tweet Capture API to Cloud Functions (2nd gen) together with everything
# it needs: APIs, Firestore (Native mode) with TTL policies, composite indexes and
# deny-all security rules, Pub/Sub topics, the Cloud Scheduler tick, the JWT
# signing key in Secret Manager, a least-privilege service account for the
# functions and one for their builds, and the Artifact Registry repository of the
# build images (with a cleanup policy). Then it deploys, and checks the result.
#
# Idempotent: every resource is looked up before it is created, so a second run
# only redeploys the functions (gcloud's deploy is itself an update), and a run
# that failed half-way is finished by the next one.
#
# A fresh project fails in a few documented, transient ways (just-enabled APIs,
# IAM and service agents that take minutes to propagate, gcloud's own local state
# under parallel use). Each is retried on Google's exact message, with a bounded
# back-off; tests/deploy/fake_gcloud.py reproduces each one and says where the
# message comes from.
# Sticks to bash 3.2 features (macOS's /bin/bash): no associative arrays,
# namerefs or `wait -n`.
#
# Run ./deploy.sh --help for the flags.
set -euo pipefail

# ---------------------------------------------------------------------------
# Names of everything the script creates. The functions read the same topic name
# from PUBSUB_TOPIC, so it is also passed to them below.
readonly TOPIC=tweet-likes-raw
readonly TOPIC_RETENTION=31d
readonly TOPIC_RETENTION_SECONDS=2678400s # how the API reports 31d
readonly TICK_TOPIC=tweet-capture-retry-tick
readonly TICK_JOB=tweet-capture-retry-tick
readonly TICK_SCHEDULE='*/10 * * * *'
readonly TICK_TIME_ZONE=Etc/UTC
readonly SECRET=tweet-capture-jwt-key
readonly SA_NAME=tweet-capture-fn
# Builds run as this account, not the Compute Engine default one, which new
# projects (org policy iam.automaticIamGrantsForDefaultServiceAccounts) leave
# without the roles a build needs.
readonly BUILD_SA_NAME=tweet-capture-build
readonly DATABASE='(default)'
readonly RUNTIME=python313
# Function names are hyphenated (valid Cloud Run service names); each entry point
# is the name with underscores. health comes first: it is deployed alone, before
# the others (see deploy_functions). The list matches shared/web/endpoints.py
# (HTTP_FUNCTIONS, NEEDS_JWT), which a test checks.
readonly HTTP_FUNCTIONS='health register login refresh logout capture capture-batch lookup list-tweets unlike'
readonly ROUTER_FUNCTION=api
readonly RETRY_FUNCTION=retry-queue
# Functions that sign or verify tokens refuse to start without JWT_SECRET_KEY.
readonly FUNCTIONS_WITH_JWT='register login refresh logout capture capture-batch lookup list-tweets unlike api'
readonly APIS='cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com
artifactregistry.googleapis.com firestore.googleapis.com pubsub.googleapis.com
cloudscheduler.googleapis.com secretmanager.googleapis.com eventarc.googleapis.com
logging.googleapis.com iam.googleapis.com cloudresourcemanager.googleapis.com
firebaserules.googleapis.com'
readonly ALERT_APIS='monitoring.googleapis.com'
readonly BUDGET_APIS='billingbudgets.googleapis.com cloudbilling.googleapis.com'
# Every 2nd gen deploy pushes a container image per function into this Artifact
# Registry repository of the region. The script creates it before the first
# deploy (parallel first deploys would race to create it) and names it in each
# deploy. Its free tier is 0.5 GB, so a cleanup policy keeps the 2 most recent
# versions of each image and deletes the rest (keep rules win over delete
# rules). Enums are spelled as the API reports them, so describe echoes the file.
readonly GCF_REPOSITORY=gcf-artifacts
readonly CLEANUP_POLICY='[{"name":"keep-2-most-recent","action":{"type":"KEEP"},"mostRecentVersions":{"keepCount":2}},{"name":"delete-older-versions","action":{"type":"DELETE"},"condition":{"tagState":"ANY"}}]'
# The same policy as `describe --format=json(cleanupPolicies)` reports it, without whitespace.
readonly CLEANUP_POLICY_DESCRIBED='{"cleanupPolicies":{"delete-older-versions":{"action":"DELETE","condition":{"tagState":"ANY"},"id":"delete-older-versions"},"keep-2-most-recent":{"action":"KEEP","id":"keep-2-most-recent","mostRecentVersions":{"keepCount":2}}}}'

# Deny-all Firestore security rules: only the functions (server library, IAM) reach the data.
readonly RULES_FILE=firestore.rules
readonly RULES_RELEASE=cloud.firestore
# Log-based metrics and alert policies of --alerts, and the budget of --budget-usd.
readonly METRIC_PUBLISH_FAILURES=tweet_capture_publish_failures
readonly METRIC_QUEUE_FAILED=tweet_capture_queue_failed
readonly BUDGET_NAME='Tweet Capture API'

# Google's messages for failures that pass by themselves within minutes on a
# fresh project (tests/deploy/fake_gcloud.py cites the source of each): an API
# enabled a moment ago, the Eventarc service agent not yet authorised, the
# functions' account not yet able to read the secret, a new service account not
# yet known to IAM.
readonly PROPAGATION_ERRORS='has not been used in project [^ ]+ before or it is disabled|Permission denied while using the Eventarc Service Agent|Permission denied on secret: .* for Revision service account|INVALID_ARGUMENT: Service account [^ ]+ does not exist'
# gcloud's local state (SQLite files in its configuration directory) under parallel use.
readonly LOCAL_STATE_CRASH='gcloud crashed \(OperationalError\): database is locked'
# Seconds to wait before each retry on a propagation error: at most about 4 minutes in all.
readonly BACKOFF_SECONDS='10 20 30 60 60 60'

# gcloud must never stop to ask a question: answers come from the flags below.
export CLOUDSDK_CORE_DISABLE_PROMPTS=1

usage() {
  cat <<'EOF'
Usage: ./deploy.sh --owner-email EMAIL [options]

Creates (only when missing) the APIs, Firestore database (Native mode), TTL
policies, composite indexes, deny-all security rules, Pub/Sub topics, scheduler
job, JWT secret, the functions' and the builds' service accounts and the build
images' repository (gcf-artifacts, keeping the 2 most recent versions of each
image), then deploys every function, prints the functions' URLs and the
extension's configuration JSON (the JSON alone goes to stdout), and verifies the
deployment (health, CORS preflight, a capture without token).

       ./deploy.sh --verify [--project ID] [--region R] [--extension-id ID]
       ./deploy.sh --verify --base-url URL | --health-url URL --capture-url URL
Checks an existing deployment only (the deployed one, or the URLs given) and
prints a one-line verdict; exit status 0 when it passes.

Options (each may also come from the environment variable in brackets):
  --project ID            Google Cloud project [GCP_PROJECT_ID]
                          (default: gcloud config get-value project)
  --region REGION         region of functions and scheduler [REGION]
                          (default: us-central1)
  --owner-email EMAIL     the only e-mail allowed to register [OWNER_EMAIL] (required)
  --extension-id ID       Chrome extension id; pins ALLOWED_ORIGINS to it [EXTENSION_ID]
                          (default: any chrome-extension:// origin)
  --firestore-location L  location of a new Firestore database [FIRESTORE_LOCATION]
                          (default: the region; it cannot be changed later)
  --only NAME             (re)deploy just this function: health, register, login,
                          refresh, logout, capture, capture-batch, lookup, list-tweets,
                          unlike, api or retry-queue
  --single-url            deploy the one "api" router (paths /api/...) instead of
                          one function per endpoint
  --alerts                also create alert policies mailing the owner (publish
                          failures, queue items failed, 5xx, p95 latency > 1 s);
                          Cloud Monitoring bills them, about $6 a month
  --budget-usd N          also create a monthly budget of N US dollars for the project,
                          mailing billing admins at 50, 90 and 100 % (needs access to
                          the billing account; skipped with a note otherwise)
  --verify                only check an existing deployment (see above)
  --base-url URL          with --verify: the api router's base URL (paths /api/...)
  --health-url URL        with --verify: the health function's URL
  --capture-url URL       with --verify: the capture function's URL
  --dry-run               print every gcloud command that changes something and run
                          none (not even read-only ones: assumes nothing exists yet)
  -h, --help              show this help
EOF
}

say() { printf '%s\n' "$*" >&2; }
die() {
  say "deploy.sh: error: $*"
  exit 1
}
usage_error() {
  say "deploy.sh: $*"
  say ""
  usage >&2
  exit 2
}

# ---------------------------------------------------------------------------
# Settings

PROJECT=${GCP_PROJECT_ID:-}
REGION=${REGION:-us-central1}
OWNER_EMAIL=${OWNER_EMAIL:-}
EXTENSION_ID=${EXTENSION_ID:-}
FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-}
ONLY=""
SINGLE_URL=false
DRY_RUN=false
ALERTS=false
BUDGET_USD=""
VERIFY_ONLY=false
BASE_URL=""
HEALTH_URL=""
CAPTURE_URL=""
PROJECT_NUMBER=""
GCLOUD_CONFIG_DIR=""

# Value of "--flag value" or "--flag=value"; fails when the value is missing.
flag_value() {
  local flag=$1 next=${2-}
  if [[ -z $next || $next == --* ]]; then
    usage_error "$flag needs a value"
  fi
  printf '%s' "$next"
}

parse_args() {
  while (($# > 0)); do
    case $1 in
      -h | --help)
        usage
        exit 0
        ;;
      --dry-run) DRY_RUN=true ;;
      --single-url) SINGLE_URL=true ;;
      --alerts) ALERTS=true ;;
      --verify) VERIFY_ONLY=true ;;
      --*=*)
        # Split "--flag=value" and handle it as "--flag value".
        local flag=${1%%=*} value=${1#*=}
        shift
        set -- "$flag" "$value" "$@"
        continue
        ;;
      --project | --region | --owner-email | --extension-id | --firestore-location | --only | --budget-usd | \
        --base-url | --health-url | --capture-url)
        local value
        value=$(flag_value "$1" "${2-}") || exit 2
        case $1 in
          --project) PROJECT=$value ;;
          --region) REGION=$value ;;
          --owner-email) OWNER_EMAIL=$value ;;
          --extension-id) EXTENSION_ID=$value ;;
          --firestore-location) FIRESTORE_LOCATION=$value ;;
          --only) ONLY=$value ;;
          --budget-usd) BUDGET_USD=$value ;;
          --base-url) BASE_URL=$value ;;
          --health-url) HEALTH_URL=$value ;;
          --capture-url) CAPTURE_URL=$value ;;
        esac
        shift
        ;;
      *) usage_error "unknown argument: $1" ;;
    esac
    shift
  done
}

# URLs that --verify accepts: https, or plain http on loopback (a local `make dev`).
readonly URL_RE='^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost):[0-9]+)(/[A-Za-z0-9._/-]*)?$'

# Checks every setting before anything is touched. The patterns are strict on
# purpose: values end up in gcloud arguments and in the functions' environment.
validate_settings() {
  local extension_re='^[a-p]{32}$'
  if [[ -n $EXTENSION_ID && ! $EXTENSION_ID =~ $extension_re ]]; then
    usage_error "'$EXTENSION_ID' is not a Chrome extension id (32 letters a-p)"
  fi
  local url
  for url in "$BASE_URL" "$HEALTH_URL" "$CAPTURE_URL"; do
    [[ -z $url || $url =~ $URL_RE ]] || usage_error "'$url' is not an https:// URL (or http:// on loopback)"
  done
  if [[ -n $BASE_URL$HEALTH_URL$CAPTURE_URL ]]; then
    [[ $VERIFY_ONLY == true ]] || usage_error "--base-url, --health-url and --capture-url go with --verify"
    if [[ -z $BASE_URL && (-z $HEALTH_URL || -z $CAPTURE_URL) ]]; then
      usage_error "--verify needs --base-url, or both --health-url and --capture-url"
    fi
    # Nothing else is needed: the check talks to the URLs only.
    return 0
  fi
  if [[ $DRY_RUN != true ]] && ! command -v gcloud >/dev/null 2>&1; then
    die "gcloud not found: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)"
  fi
  if [[ -z $PROJECT ]]; then
    # A local read of gcloud's configuration, not an API call.
    PROJECT=$(gcloud config get-value project 2>/dev/null || true)
  fi
  [[ -n $PROJECT ]] || usage_error "no project: pass --project, set GCP_PROJECT_ID or run 'gcloud config set project ID'"
  if [[ $VERIFY_ONLY != true ]]; then
    [[ -n $OWNER_EMAIL ]] || usage_error "no owner e-mail: pass --owner-email or set OWNER_EMAIL (only it may register)"
  fi

  local project_re='^[a-z][a-z0-9-]{4,28}[a-z0-9]$'
  local region_re='^[a-z]+-[a-z]+[0-9]+$'
  local email_re='^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'
  local budget_re='^[1-9][0-9]{0,5}$'
  [[ $PROJECT =~ $project_re ]] || usage_error "'$PROJECT' is not a project ID"
  [[ $REGION =~ $region_re ]] || usage_error "'$REGION' is not a region (e.g. us-central1)"
  if [[ $VERIFY_ONLY != true ]]; then
    [[ $OWNER_EMAIL =~ $email_re ]] || usage_error "'$OWNER_EMAIL' is not an e-mail address"
  fi
  if [[ -n $BUDGET_USD && ! $BUDGET_USD =~ $budget_re ]]; then
    usage_error "--budget-usd: '$BUDGET_USD' is not a whole number of US dollars (1 or more)"
  fi
  FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-$REGION}
  if [[ -n $ONLY ]]; then
    ONLY=${ONLY//_/-}
    case " $HTTP_FUNCTIONS $ROUTER_FUNCTION $RETRY_FUNCTION " in
      *" $ONLY "*) ;;
      *) usage_error "--only: unknown function '$ONLY'" ;;
    esac
  fi
  SA_EMAIL="$SA_NAME@$PROJECT.iam.gserviceaccount.com"
  SA_MEMBER="serviceAccount:$SA_EMAIL"
  BUILD_SA_EMAIL="$BUILD_SA_NAME@$PROJECT.iam.gserviceaccount.com"
  BUILD_SA_MEMBER="serviceAccount:$BUILD_SA_EMAIL"
  DOCKER_REPOSITORY="projects/$PROJECT/locations/$REGION/repositories/$GCF_REPOSITORY"
}

# The functions this run deploys, in deployment order.
selected_functions() {
  if [[ -n $ONLY ]]; then
    echo "$ONLY"
  elif [[ $SINGLE_URL == true ]]; then
    echo "$ROUTER_FUNCTION $RETRY_FUNCTION"
  else
    echo "$HTTP_FUNCTIONS $RETRY_FUNCTION"
  fi
}

# ---------------------------------------------------------------------------
# Running gcloud. Every command that changes something goes through `change`
# (printed, and skipped under --dry-run); every question goes through `query`.

# One argument as the shell would need it typed, for copy-pastable output.
shell_word() {
  local word=$1 safe='^[A-Za-z0-9_./:=@%+,-]+$'
  if [[ $word =~ $safe ]]; then
    printf '%s' "$word"
  elif [[ $word != *"'"* ]]; then
    printf "'%s'" "$word"
  else
    printf '%q' "$word"
  fi
}

# "+ gcloud ARGS", as it could be pasted into a shell.
command_line() {
  local line="+ gcloud" word
  for word in "$@"; do
    line="$line $(shell_word "$word")"
  done
  printf '%s' "$line"
}

# Shows a command line: on stdout in a dry run (the plan is its product), on
# stderr otherwise (stdout then carries only the extension configuration).
show_line() {
  if [[ $DRY_RUN == true ]]; then
    printf '%s\n' "$1"
  else
    say "$1"
  fi
}

show_command() {
  show_line "$(command_line "$@")"
}

# Runs `gcloud ARGS` with stdout into the file $1 and stderr into the file $2.
# A failure with one of the PROPAGATION_ERRORS is retried after each delay of
# BACKOFF_SECONDS; gcloud's "database is locked" crash is retried once. Returns
# gcloud's last exit status; the stderr of every attempt stays in $2.
gcloud_patiently() {
  local out=$1 err=$2 status delays retries=0 crashed=false
  shift 2
  read -r -a delays <<<"$BACKOFF_SECONDS"
  : >"$err"
  while true; do
    status=0
    gcloud "$@" >"$out" 2>"$err.attempt" </dev/null || status=$?
    cat "$err.attempt" >>"$err"
    ((status == 0)) && return 0
    if ((retries < ${#delays[@]})) && grep -Eq "$PROPAGATION_ERRORS" "$err.attempt"; then
      say "  (gcloud $1 $2: \"$(grep -Eo "$PROPAGATION_ERRORS" "$err.attempt" | head -n 1 | cut -c1-80)\": this passes within minutes on a new project; retrying in ${delays[$retries]} s)"
      sleep "${delays[$retries]}"
      retries=$((retries + 1))
    elif [[ $crashed == false ]] && grep -Eq "$LOCAL_STATE_CRASH" "$err.attempt"; then
      crashed=true
      say "  (gcloud $1 $2: gcloud's local state was busy; retrying once)"
    else
      return "$status"
    fi
  done
}

# Runs a gcloud command that changes the project (its output goes to stderr).
change() {
  show_command "$@" --project="$PROJECT"
  [[ $DRY_RUN == true ]] && return 0
  local status=0
  gcloud_patiently "$WORK_DIR/change.out" "$WORK_DIR/change.err" "$@" --project="$PROJECT" || status=$?
  cat "$WORK_DIR/change.out" "$WORK_DIR/change.err" >&2
  ((status == 0)) || die "gcloud $1 $2 failed (exit status $status)"
}

# `change` without its output (an IAM binding prints the whole new policy).
change_quietly() {
  show_command "$@" --project="$PROJECT"
  [[ $DRY_RUN == true ]] && return 0
  gcloud_patiently /dev/null "$WORK_DIR/change.err" "$@" --project="$PROJECT" && return 0
  cat "$WORK_DIR/change.err" >&2
  die "gcloud $1 $2 failed"
}

# A fresh signing key on stdout: 48 bytes from the kernel's CSPRNG, base64 (64
# characters, above the 32-byte minimum). It only ever travels through a pipe.
random_key() {
  head -c 48 /dev/urandom | base64 | tr -d '\n'
}

# Runs a gcloud command that takes a new random key on stdin (--data-file=-).
# The key is never printed, never in an argument, never in a variable.
change_with_new_key() {
  show_line "$(command_line "$@" --project="$PROJECT")  # stdin: a new random key, never shown"
  [[ $DRY_RUN == true ]] && return 0
  random_key | gcloud "$@" --project="$PROJECT" >&2
}

# Asks gcloud a read-only question; the answer is left in ANSWER. Returns 1 when
# the resource does not exist, stops the script on any other failure (a
# permission error must not be mistaken for "missing"). Under --dry-run nothing
# is asked and everything counts as missing.
ANSWER=""
query() {
  ANSWER=""
  [[ $DRY_RUN == true ]] && return 1
  local status=0
  gcloud_patiently "$WORK_DIR/query.out" "$WORK_DIR/query.err" "$@" --project="$PROJECT" || status=$?
  ANSWER=$(cat "$WORK_DIR/query.out")
  ((status == 0)) && return 0
  if grep -Eq 'NOT_FOUND|[Nn]ot found|does not exist|status=\[404\]' "$WORK_DIR/query.err"; then
    return 1
  fi
  cat "$WORK_DIR/query.err" >&2
  die "could not run: gcloud $*"
}

# Whether MEMBER holds ROLE in the IAM policy that the given get-iam-policy
# command (without its flags) returns.
member_has_role() {
  local member=$1 role=$2
  shift 2
  query "$@" --flatten='bindings[].members' --format='value(bindings.role,bindings.members)' || return 1
  local tab=$'\t'
  [[ $'\n'"$ANSWER"$'\n' == *$'\n'"$role$tab$member"$'\n'* ]]
}

# Whether the functions' service account holds ROLE (see member_has_role).
has_role() {
  member_has_role "$SA_MEMBER" "$@"
}

# ---------------------------------------------------------------------------
# Steps

check_login_and_project() {
  if [[ $DRY_RUN == true ]]; then
    say "Dry run: nothing is read or changed; every resource is assumed missing."
    return 0
  fi
  local account
  account=$(gcloud auth list --filter=status:ACTIVE --format='value(account)' 2>/dev/null || true)
  [[ -n $account ]] || die "gcloud has no active account: run 'gcloud auth login'"
  # Proves the credentials still work (and refreshes them once, before the
  # parallel deploys below all need them). The token itself is discarded.
  gcloud auth print-access-token >/dev/null 2>&1 ||
    die "the credentials of $account no longer work: run 'gcloud auth login'"
  PROJECT_NUMBER=$(gcloud projects describe "$PROJECT" --format='value(projectNumber)' 2>/dev/null) ||
    die "project '$PROJECT' does not exist or $account cannot see it"
  # Where gcloud keeps its credentials and state (copied for each parallel deploy).
  GCLOUD_CONFIG_DIR=$(gcloud info --format='value(config.paths.global_config_dir)' 2>/dev/null || true)
  say "Deploying to project $PROJECT ($REGION) as $account"
}

enable_apis() {
  local enabled="" missing="" api wanted=$APIS
  [[ $ALERTS == true ]] && wanted="$wanted $ALERT_APIS"
  [[ -n $BUDGET_USD ]] && wanted="$wanted $BUDGET_APIS"
  if query services list --enabled --format='value(config.name)'; then
    enabled=$ANSWER
  fi
  for api in $wanted; do
    [[ $'\n'"$enabled"$'\n' == *$'\n'"$api"$'\n'* ]] || missing="$missing $api"
  done
  [[ -z $missing ]] && return 0
  # shellcheck disable=SC2086 # one word per API
  change services enable $missing
}

# The HTTP functions must be public (allUsers may invoke them: the extension
# has no Google identity). Domain-restricted sharing forbids that; finding out
# after the deploys would leave private functions behind, so it is asked first.
check_public_access_allowed() {
  [[ $DRY_RUN == true || $(selected_functions) == "$RETRY_FUNCTION" ]] && return 0
  local constraint=iam.allowedPolicyMemberDomains answer
  if ! answer=$(gcloud resource-manager org-policies describe "$constraint" --effective --project="$PROJECT" \
    --format='value(listPolicy.allValues,listPolicy.allowedValues)' 2>"$WORK_DIR/orgpolicy.err"); then
    say "Note: could not read the organisation policy $constraint of $PROJECT ($(head -n 1 "$WORK_DIR/orgpolicy.err" | cut -c1-160)); assuming public functions are allowed."
    return 0
  fi
  local all_values=${answer%%$'\t'*} allowed=${answer#*$'\t'}
  [[ $answer == *$'\t'* ]] || allowed=""
  if [[ $all_values != ALLOW && -n $allowed ]]; then
    die "the organisation policy constraints/$constraint (domain-restricted sharing) of $PROJECT admits only
members of the customer(s) $allowed, so the HTTP functions cannot be made public (allUsers), which
the extension needs. Nothing was deployed. Ways out:
  - an Organization Policy Administrator overrides the constraint for this project only, e.g.
      printf '%s' '{\"constraint\": \"constraints/$constraint\", \"listPolicy\": {\"allValues\": \"ALLOW\"}}' > policy.json
      gcloud resource-manager org-policies set-policy policy.json --project=$PROJECT
  - or deploy to a project outside the organisation.
Then run ./deploy.sh again: it continues where this run stopped."
  fi
}

# Native mode, never --type=datastore-mode: the Firestore client library the
# functions use cannot talk to a database in Datastore mode, and the mode of a
# database that holds data cannot be switched afterwards.
ensure_firestore() {
  if query firestore databases describe --database="$DATABASE" --format='value(type)'; then
    [[ $ANSWER == FIRESTORE_NATIVE ]] && return 0
    die "the $DATABASE Firestore database of $PROJECT is in ${ANSWER:-an unknown} mode, but the functions need Native mode.
An empty database can be switched to Native mode in the Cloud console (Firestore); one with data cannot."
  fi
  change firestore databases create --database="$DATABASE" --location="$FIRESTORE_LOCATION" --type=firestore-native
}

# Expired sessions and rate-limit windows are deleted by Firestore itself.
ensure_ttl_policies() {
  local ttls=""
  if query firestore fields ttls list --database="$DATABASE" --format='value(name,ttlConfig.state)'; then
    ttls=$ANSWER
  fi
  local pair group field
  for pair in sessions/expiresAt rateLimits/expireAt; do
    group=${pair%/*} field=${pair#*/}
    # ACTIVE, or CREATING after a previous run; NEEDS_REPAIR is set again.
    if grep -Eq "/collectionGroups/$group/fields/$field"$'\t'"(ACTIVE|CREATING)$" <<<"$ttls"; then
      continue
    fi
    # --async: the policy becomes active in the background; nothing waits for it.
    change firestore fields ttls update "$field" --collection-group="$group" --database="$DATABASE" --enable-ttl --async
  done
}

# Composite indexes (all ascending) of the queries that need one:
#   queue:  status IN [...] AND nextAttemptAt <= now ORDER BY nextAttemptAt (the retry replay)
#   tweets: userId == me ORDER BY createdAt, captureOrder (listing a user's captures, oldest
#           first, a batch in its request order)
# Firestore appends __name__ to every composite index.
ensure_indexes() {
  local indexes="" spec group fields field orders wanted
  local -a configs
  if query firestore indexes composite list --database="$DATABASE" \
    --format='value(name,queryScope,fields[].fieldPath,fields[].order)'; then
    indexes=$ANSWER
  fi
  for spec in queue:status,nextAttemptAt tweets:userId,createdAt,captureOrder; do
    group=${spec%%:*} fields=${spec#*:} configs=() orders=""
    for field in ${fields//,/ }; do
      configs+=(--field-config="field-path=$field,order=ascending")
      orders+="${orders:+;}ASCENDING"
    done
    wanted="/collectionGroups/$group/indexes/[^[:space:]]+[[:space:]]+COLLECTION[[:space:]]+${fields//,/;}(;__name__)?[[:space:]]+$orders(;ASCENDING)?$"
    grep -Eq "$wanted" <<<"$indexes" && continue
    # --async: building takes minutes; until then the query fails and its caller retries.
    change firestore indexes composite create --collection-group="$group" --query-scope=collection \
      "${configs[@]}" --database="$DATABASE" --async
  done
}

# Security rules apply to the client SDKs and the REST API used with end-user
# credentials, never to the server library the functions use (IAM governs that):
# with deny-all rules, no one else can read or write a document. Released through
# the Firebase Rules API, only when the live ruleset differs from the file.
ensure_security_rules() {
  show_line "+ firebaserules: release $RULES_FILE as projects/$PROJECT/releases/$RULES_RELEASE (when the live rules differ)"
  [[ $DRY_RUN == true ]] && return 0
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to release $RULES_FILE (install Python 3)"
  local status delay
  for delay in $BACKOFF_SECONDS stop; do
    status=0
    # The access token goes through a pipe, never into an argument.
    gcloud auth print-access-token --project="$PROJECT" 2>/dev/null |
      python3 devtools/deploy_api.py rules --project="$PROJECT" --file="$RULES_FILE" \
        --release="$RULES_RELEASE" >"$WORK_DIR/rules.out" 2>"$WORK_DIR/rules.err" || status=$?
    ((status == 0)) && break
    if [[ $delay == stop ]] || ! grep -Eq "$PROPAGATION_ERRORS" "$WORK_DIR/rules.err"; then
      cat "$WORK_DIR/rules.err" >&2
      die "could not release $RULES_FILE"
    fi
    say "  (the Firebase Rules API was enabled a moment ago; retrying in $delay s)"
    sleep "$delay"
  done
  say "  $(cat "$WORK_DIR/rules.out")"
}

ensure_topics() {
  if query pubsub topics describe "$TOPIC" --format='value(messageRetentionDuration)'; then
    if [[ $ANSWER != "$TOPIC_RETENTION_SECONDS" ]]; then
      change pubsub topics update "$TOPIC" --message-retention-duration="$TOPIC_RETENTION"
    fi
  else
    # Retention lets a downstream consumer subscribe late and replay a month.
    change pubsub topics create "$TOPIC" --message-retention-duration="$TOPIC_RETENTION"
  fi
  query pubsub topics describe "$TICK_TOPIC" --format='value(name)' ||
    change pubsub topics create "$TICK_TOPIC"
}

# Cloud Scheduler publishes a tick every 10 minutes; retry-queue ignores its body.
ensure_tick_job() {
  local job_flags=(--location="$REGION" --schedule="$TICK_SCHEDULE" --time-zone="$TICK_TIME_ZONE"
    --topic="$TICK_TOPIC" --message-body=tick)
  if query scheduler jobs describe "$TICK_JOB" --location="$REGION" \
    --format='value(schedule,pubsubTarget.topicName,timeZone)'; then
    local expected="$TICK_SCHEDULE"$'\t'"projects/$PROJECT/topics/$TICK_TOPIC"$'\t'"$TICK_TIME_ZONE"
    [[ $ANSWER == "$expected" ]] && return 0
    change scheduler jobs update pubsub "$TICK_JOB" "${job_flags[@]}"
  else
    change scheduler jobs create pubsub "$TICK_JOB" "${job_flags[@]}" \
      --description="Replays the Tweet Capture retry queue"
  fi
}

# The functions run as their own account with only what they use: Firestore
# (project-wide; Firestore has no finer IAM), publish and GetTopic (health) on
# the one topic, and reading the one secret (granted in ensure_jwt_secret).
ensure_service_account() {
  query iam service-accounts describe "$SA_EMAIL" --format='value(email)' ||
    change iam service-accounts create "$SA_NAME" --display-name="Tweet Capture API functions"
  has_role roles/datastore.user projects get-iam-policy "$PROJECT" ||
    change_quietly projects add-iam-policy-binding "$PROJECT" --member="$SA_MEMBER" \
      --role=roles/datastore.user --condition=None
  local role
  for role in roles/pubsub.publisher roles/pubsub.viewer; do
    has_role "$role" pubsub topics get-iam-policy "$TOPIC" ||
      change_quietly pubsub topics add-iam-policy-binding "$TOPIC" --member="$SA_MEMBER" --role="$role"
  done
}

# The image repository exists before the first deploy, with its cleanup policy,
# so parallel deploys never race to create it.
ensure_image_repository() {
  query artifacts repositories describe "$GCF_REPOSITORY" --location="$REGION" --format='value(name)' ||
    change artifacts repositories create "$GCF_REPOSITORY" --repository-format=docker --location="$REGION" \
      --description="Build images of the Tweet Capture API functions"
  ensure_cleanup_policy
}

# Builds run as their own account with what a function build needs
# (https://cloud.google.com/functions/docs/securing/build-custom-sa): write build
# logs, read the uploaded source (buckets Cloud Functions creates per region,
# hence project-wide) and push images to gcf-artifacts only.
ensure_build_service_account() {
  query iam service-accounts describe "$BUILD_SA_EMAIL" --format='value(email)' ||
    change iam service-accounts create "$BUILD_SA_NAME" --display-name="Tweet Capture API builds"
  local role
  for role in roles/logging.logWriter roles/storage.objectViewer; do
    member_has_role "$BUILD_SA_MEMBER" "$role" projects get-iam-policy "$PROJECT" ||
      change_quietly projects add-iam-policy-binding "$PROJECT" --member="$BUILD_SA_MEMBER" \
        --role="$role" --condition=None
  done
  member_has_role "$BUILD_SA_MEMBER" roles/artifactregistry.writer \
    artifacts repositories get-iam-policy "$GCF_REPOSITORY" --location="$REGION" ||
    change_quietly artifacts repositories add-iam-policy-binding "$GCF_REPOSITORY" --location="$REGION" \
      --member="$BUILD_SA_MEMBER" --role=roles/artifactregistry.writer
}

# Eventarc delivers the ticks to retry-queue through its service agent, which a
# project gets only when Eventarc is first used; until it holds its role, a
# Pub/Sub-triggered deploy fails. Creating the identity explicitly starts that now.
ensure_eventarc_agent() {
  local agent="serviceAccount:service-${PROJECT_NUMBER:-PROJECT_NUMBER}@gcp-sa-eventarc.iam.gserviceaccount.com"
  member_has_role "$agent" roles/eventarc.serviceAgent projects get-iam-policy "$PROJECT" && return 0
  local args=(beta services identity create --service=eventarc.googleapis.com --project="$PROJECT")
  show_command "${args[@]}"
  [[ $DRY_RUN == true ]] && return 0
  # Without the beta component this fails; the deploy's own retry still covers the wait.
  gcloud "${args[@]}" >/dev/null 2>"$WORK_DIR/identity.err" </dev/null ||
    say "Note: could not create the Eventarc service identity ($(head -n 1 "$WORK_DIR/identity.err" | cut -c1-160)); the retry-queue deploy will wait for it."
}

# The JWT signing key is generated here once and lives only in Secret Manager;
# the functions receive it through --set-secrets, never as a plain variable.
# SECRET_VERSION is the number of its newest enabled version: every function is
# pinned to it, so a rotation reaches all of them on the next deploy, together.
SECRET_VERSION=1
ensure_jwt_secret() {
  if query secrets describe "$SECRET" --format='value(name)'; then
    local states=""
    query secrets versions list "$SECRET" --format='value(state)' && states=$ANSWER
    [[ $'\n'"$states"$'\n' == *$'\n'ENABLED$'\n'* ]] ||
      change_with_new_key secrets versions add "$SECRET" --data-file=-
  else
    change_with_new_key secrets create "$SECRET" --replication-policy=automatic --data-file=-
  fi
  has_role roles/secretmanager.secretAccessor secrets get-iam-policy "$SECRET" ||
    change_quietly secrets add-iam-policy-binding "$SECRET" --member="$SA_MEMBER" \
      --role=roles/secretmanager.secretAccessor
  [[ $DRY_RUN == true ]] && return 0
  query secrets versions describe latest --secret="$SECRET" --format='value(name)' ||
    die "the secret $SECRET has no version"
  SECRET_VERSION=${ANSWER##*/}
  [[ $SECRET_VERSION =~ ^[0-9]+$ ]] || die "unexpected version of $SECRET: '$ANSWER'"
}

# ---------------------------------------------------------------------------
# Deploying

# The entry point of a function: its name with underscores.
entry_point() {
  printf '%s' "${1//-/_}"
}

# Fills DEPLOY_ARGS with the `gcloud functions deploy` arguments for one function.
# Sizes aim at a $0 single-user budget: scale to zero, few instances.
DEPLOY_ARGS=()
deploy_args() {
  local name=$1 memory=256Mi timeout=30s max_instances=3
  local env="GCP_PROJECT_ID=$PROJECT|PUBSUB_TOPIC=$TOPIC"
  DEPLOY_ARGS=(functions deploy "$name" --gen2 --runtime="$RUNTIME" --region="$REGION" --source=.
    --entry-point="$(entry_point "$name")" --service-account="$SA_EMAIL"
    --build-service-account="projects/$PROJECT/serviceAccounts/$BUILD_SA_EMAIL"
    --docker-repository="$DOCKER_REPOSITORY")
  if [[ $name == "$RETRY_FUNCTION" ]]; then
    # One instance: ticks are 10 minutes apart and a run never needs a second.
    # --no-retry said explicitly: gcloud keeps a retry policy set by hand on
    # redeploy otherwise. The next tick is the retry.
    timeout=120s max_instances=1
    DEPLOY_ARGS+=(--trigger-topic="$TICK_TOPIC" --trigger-service-account="$SA_EMAIL" --no-retry)
  else
    DEPLOY_ARGS+=(--trigger-http --allow-unauthenticated)
    env="$env|ALLOWED_EMAILS=$OWNER_EMAIL"
    if [[ -n $EXTENSION_ID ]]; then
      env="$env|ALLOWED_ORIGINS=chrome-extension://$EXTENSION_ID"
    fi
  fi
  case $name in
    # bcrypt is CPU-bound and CPU grows with memory: 512Mi halves its latency.
    register | login | "$ROUTER_FUNCTION") memory=512Mi ;;
  esac
  # "^|^" makes "|" the separator, so values may contain commas (gcloud topic escaping).
  DEPLOY_ARGS+=(--memory="$memory" --timeout="$timeout" --min-instances=0 --max-instances="$max_instances"
    "--set-env-vars=^|^$env")
  case " $FUNCTIONS_WITH_JWT " in
    *" $name "*) DEPLOY_ARGS+=(--set-secrets="JWT_SECRET_KEY=$SECRET:$SECRET_VERSION") ;;
  esac
  return 0
}

# A private copy of gcloud's configuration directory (credentials, properties,
# caches) in WORK_DIR, its logs left out; printed on stdout. Parallel gcloud
# processes sharing one directory crash on its SQLite files.
private_gcloud_config() {
  local copy="$WORK_DIR/gcloud-config-$1" entry
  mkdir -m 700 "$copy"
  if [[ -n $GCLOUD_CONFIG_DIR && -d $GCLOUD_CONFIG_DIR ]]; then
    for entry in "$GCLOUD_CONFIG_DIR"/* "$GCLOUD_CONFIG_DIR"/.[!.]*; do
      [[ -e $entry && ${entry##*/} != logs ]] || continue
      cp -R "$entry" "$copy/"
    done
  fi
  printf '%s' "$copy"
}

# Deploys one function in the background (gcloud_patiently: retried on the
# transient failures), its output in WORK_DIR/deploy-NAME.log; the pid goes to PIDS.
PIDS=()
start_deploy() {
  local name=$1 config=${2-}
  deploy_args "$name"
  show_command "${DEPLOY_ARGS[@]}" --project="$PROJECT"
  [[ $DRY_RUN == true ]] && return 0
  (
    [[ -n $config ]] && export CLOUDSDK_CONFIG=$config
    gcloud_patiently "$WORK_DIR/deploy-$name.out" "$WORK_DIR/deploy-$name.log" \
      "${DEPLOY_ARGS[@]}" --project="$PROJECT"
  ) &
  PIDS+=("$!")
}

# Waits for the deploys of the named functions (PIDS in the same order); adds
# the failed ones to FAILED, showing their gcloud output.
FAILED=""
wait_for_deploys() {
  local i name
  for i in "${!PIDS[@]}"; do
    name=${1}
    shift
    if wait "${PIDS[$i]}"; then
      say "  deployed $name"
    else
      FAILED="$FAILED $name"
      say "  FAILED $name; its gcloud output:"
      sed 's/^/    | /' "$WORK_DIR/deploy-$name.log" >&2
    fi
  done
  PIDS=()
}

# Deploys the first function alone: on a fresh project it sets up what every
# deploy of the region shares (the source and upload buckets, the Cloud Run and
# Eventarc service agents). Then the rest in parallel, each gcloud with a
# private copy of its configuration directory. A deploy is mostly waiting on
# Cloud Build (1-2 minutes), so 10 deploys in parallel take about as long as two
# in a row, where one after the other would take 15-20 minutes.
deploy_functions() {
  local first=$1
  shift
  [[ $DRY_RUN == true ]] || say "Deploying $first first, alone (a first deploy sets up the region); this takes a few minutes..."
  start_deploy "$first"
  [[ $DRY_RUN == true ]] || wait_for_deploys "$first"
  if [[ -z $FAILED && $# -gt 0 ]]; then
    local name
    [[ $DRY_RUN == true ]] || say "Deploying $# more in parallel..."
    for name in "$@"; do
      if [[ $DRY_RUN == true ]]; then
        start_deploy "$name"
      else
        start_deploy "$name" "$(private_gcloud_config "$name")"
      fi
    done
    [[ $DRY_RUN == true ]] || wait_for_deploys "$@"
    # The copies hold credentials: gone as soon as they are no longer needed.
    rm -rf "$WORK_DIR"/gcloud-config-*
  fi
  [[ -z $FAILED ]] && return 0
  KEEP_WORK_DIR=true
  if grep -q 'do not belong to a permitted customer' "$WORK_DIR"/deploy-*.log 2>/dev/null; then
    say "The organisation policy constraints/iam.allowedPolicyMemberDomains forbids public (allUsers) functions;"
    say "see README, Deployment, 'Failure messages you may still see'."
  fi
  die "deployment failed for:$FAILED (logs kept in $WORK_DIR); run ./deploy.sh again to finish"
}

# Eventarc invokes retry-queue (a private service) as the service account.
ensure_retry_invoker() {
  has_role roles/run.invoker run services get-iam-policy "$RETRY_FUNCTION" --region="$REGION" ||
    change_quietly run services add-iam-policy-binding "$RETRY_FUNCTION" --region="$REGION" \
      --member="$SA_MEMBER" --role=roles/run.invoker
}

# Runs set-cleanup-policies with CLEANUP_POLICY in a file of WORK_DIR (removed on
# exit); the line shown carries the file's content, as the file does not outlive
# the run. --no-dry-run: a policy in dry-run mode would only log what it deletes.
set_cleanup_policy() {
  local file="$WORK_DIR/cleanup-policy.json"
  local args=(artifacts repositories set-cleanup-policies "$GCF_REPOSITORY" --location="$REGION"
    --policy="$file" --no-dry-run --project="$PROJECT")
  show_line "$(command_line "${args[@]}")  # ${file##*/}: $CLEANUP_POLICY"
  [[ $DRY_RUN == true ]] && return 0
  printf '%s\n' "$CLEANUP_POLICY" >"$file"
  gcloud "${args[@]}" >&2
}

# Sets CLEANUP_POLICY on gcf-artifacts unless it already has exactly it (any
# other policy is replaced).
ensure_cleanup_policy() {
  if query artifacts repositories describe "$GCF_REPOSITORY" --location="$REGION" \
    --format='json(cleanupPolicies,cleanupPolicyDryRun)'; then
    local found
    found=$(tr -d '[:space:]' <<<"$ANSWER")
    # Dry-run mode explicitly off is the same as never turned on.
    found=${found/,\"cleanupPolicyDryRun\":false/}
    [[ $found == "$CLEANUP_POLICY_DESCRIBED" ]] && return 0
  fi
  set_cleanup_policy
}

# ---------------------------------------------------------------------------
# Alerts and budget (opt-in)

# Log-based metrics (counters) for what the service logs; 5xx and latency come
# from Cloud Run's own request metrics, which need no log-based metric.
ensure_log_metrics() {
  local pair name filter
  for pair in \
    "$METRIC_PUBLISH_FAILURES|resource.type=\"cloud_run_revision\" AND jsonPayload.message:\"publish failed\"" \
    "$METRIC_QUEUE_FAILED|resource.type=\"cloud_run_revision\" AND jsonPayload.message=\"retry queue replayed\" AND jsonPayload.failed>0"; do
    name=${pair%%|*} filter=${pair#*|}
    if query logging metrics describe "$name" --format='value(filter)'; then
      [[ $ANSWER == "$filter" ]] && continue
      change logging metrics update "$name" --log-filter="$filter"
    else
      change logging metrics create "$name" --log-filter="$filter" \
        --description="Tweet Capture API: log entries matching this filter"
    fi
  done
}

# An e-mail channel for the owner and four alert policies (created when missing,
# by display name) through the Cloud Monitoring API.
ensure_alerts() {
  [[ $ALERTS == true ]] || return 0
  ensure_log_metrics
  show_line "+ monitoring: e-mail channel for $OWNER_EMAIL and alert policies 'Tweet Capture API: …' (when missing)"
  [[ $DRY_RUN == true ]] && return 0
  local status=0
  gcloud auth print-access-token --project="$PROJECT" 2>/dev/null |
    python3 devtools/deploy_api.py alerts --project="$PROJECT" --email="$OWNER_EMAIL" \
      --publish-metric="$METRIC_PUBLISH_FAILURES" --queue-metric="$METRIC_QUEUE_FAILED" \
      --services="$HTTP_FUNCTIONS $ROUTER_FUNCTION" \
      >"$WORK_DIR/alerts.out" 2>"$WORK_DIR/alerts.err" || status=$?
  if ((status != 0)); then
    cat "$WORK_DIR/alerts.err" >&2
    die "could not create the alert policies"
  fi
  sed 's/^/  /' "$WORK_DIR/alerts.out" >&2
}

# A monthly budget on the project's billing account; a user without access to
# the billing account gets a note instead of a failure.
ensure_budget() {
  [[ -n $BUDGET_USD ]] || return 0
  local account="BILLING_ACCOUNT_ID"
  if [[ $DRY_RUN != true ]]; then
    if ! account=$(gcloud billing projects describe "$PROJECT" --project="$PROJECT" \
      --format='value(billingAccountName)' 2>"$WORK_DIR/billing.err"); then
      say "Note: no budget created: cannot read the billing account of $PROJECT ($(head -n 1 "$WORK_DIR/billing.err" | cut -c1-160))."
      return 0
    fi
    account=${account#billingAccounts/}
    if [[ -z $account ]]; then
      say "Note: no budget created: $PROJECT has no billing account linked."
      return 0
    fi
    if ! gcloud billing budgets list --billing-account="$account" --project="$PROJECT" --format='value(displayName)' \
      >"$WORK_DIR/budgets.out" 2>"$WORK_DIR/billing.err"; then
      say "Note: no budget created: no access to billing account $account (a Billing Account Administrator or Costs Manager can run ./deploy.sh --budget-usd $BUDGET_USD)."
      return 0
    fi
    if grep -Fxq "$BUDGET_NAME ($PROJECT)" "$WORK_DIR/budgets.out"; then
      return 0
    fi
  fi
  local args=(billing budgets create --billing-account="$account" --display-name="$BUDGET_NAME ($PROJECT)"
    --budget-amount="${BUDGET_USD}USD" --filter-projects="projects/$PROJECT"
    --threshold-rule=percent=0.5 --threshold-rule=percent=0.9 --threshold-rule=percent=1.0 --project="$PROJECT")
  show_command "${args[@]}"
  [[ $DRY_RUN == true ]] && return 0
  if ! gcloud "${args[@]}" >/dev/null 2>"$WORK_DIR/billing.err"; then
    say "Note: no budget created: $(head -n 1 "$WORK_DIR/billing.err" | cut -c1-200)"
  fi
}

# ---------------------------------------------------------------------------
# URLs and the verification

# URL of a deployed function (a placeholder under --dry-run).
function_url() {
  local name=$1
  if [[ $DRY_RUN == true ]]; then
    printf 'https://%s.example.invalid' "$name"
    return 0
  fi
  query functions describe "$name" --gen2 --region="$REGION" --format='value(serviceConfig.uri)' ||
    die "function $name is not deployed: run ./deploy.sh without --only first"
  [[ $ANSWER =~ $URL_RE ]] || die "unexpected URL for $name: '$ANSWER'"
  printf '%s' "$ANSWER"
}

# register -> registerUrl, capture-batch -> captureBatchUrl.
url_key() {
  local name=$1 key="" part first rest
  local IFS=-
  for part in $name; do
    if [[ -z $key ]]; then
      key=$part
    else
      first=$(printf '%s' "${part:0:1}" | tr '[:lower:]' '[:upper:]')
      rest=${part:1}
      key="$key$first$rest"
    fi
  done
  printf '%sUrl' "$key"
}

# The /api path of a per-function endpoint in the router.
router_path() {
  case $1 in
    register | login | refresh | logout) printf '/api/auth/%s' "$1" ;;
    capture) printf '/api/tweets/capture' ;;
    capture-batch) printf '/api/tweets/capture/batch' ;;
    lookup) printf '/api/tweets/lookup' ;;
    list-tweets) printf '/api/tweets' ;;
    unlike) printf '/api/tweets/unlike' ;;
    health) printf '/api/health' ;;
  esac
}

# Lists the URLs (stderr) and prints the extension's configuration JSON (stdout);
# leaves the URLs to verify in HEALTH_URL and CAPTURE_URL.
print_urls() {
  local name url json="" separator=""
  if [[ -n $ONLY ]]; then
    [[ $ONLY == "$RETRY_FUNCTION" ]] && return 0
    url=$(function_url "$ONLY")
    say "$ONLY: $url"
    say "The other functions keep their URLs: the extension configuration is unchanged."
    return 0
  fi
  if [[ $SINGLE_URL == true ]]; then
    url=$(function_url "$ROUTER_FUNCTION")
    say "api: $url (endpoints under /api/..., docs at $url/api/docs)"
    json="  \"baseUrl\": \"$url\""
    separator=$',\n'
    for name in $HTTP_FUNCTIONS; do
      json="$json$separator  \"$(url_key "$name")\": \"$url$(router_path "$name")\""
    done
    HEALTH_URL="$url/api/health" CAPTURE_URL="$url/api/tweets/capture"
  else
    for name in $HTTP_FUNCTIONS; do
      url=$(function_url "$name")
      say "$name: $url"
      json="$json$separator  \"$(url_key "$name")\": \"$url\""
      separator=$',\n'
      [[ $name == health ]] && HEALTH_URL=$url
      [[ $name == capture ]] && CAPTURE_URL=$url
    done
  fi
  say ""
  say "Extension configuration (paste it into the extension's settings):"
  printf '{\n%s\n}\n' "$json"
}

# The value of a response header (case-insensitive name) in a curl -D file.
header_value() {
  tr -d '\r' 2>/dev/null <"$1" | grep -i "^$2:" | tail -n 1 | cut -d: -f2- | sed 's/^ *//' || true
}

# One pass of the three checks; the problems found go to VERIFY_PROBLEMS.
VERIFY_PROBLEMS=""
verify_once() {
  local origin=$1 status body allow
  local dir="$WORK_DIR/verify"
  mkdir -p "$dir"
  VERIFY_PROBLEMS=""
  status=$(curl -sS --max-time 30 -o "$dir/health.body" -w '%{http_code}' "$HEALTH_URL" 2>"$dir/curl.err") || status=000
  body=$(cat "$dir/health.body" 2>/dev/null || true)
  if [[ $status != 200 ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; health answered $status$([[ $status == 000 ]] && printf ' (%s)' "$(head -n 1 "$dir/curl.err")")"
  elif ! grep -Eq '"firestore" *: *"connected"' <<<"$body" || ! grep -Eq '"pubsub" *: *"connected"' <<<"$body"; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; health is not connected to both backends: $(tr -d '\n' <<<"$body" | cut -c1-160)"
  fi
  status=$(curl -sS --max-time 30 -o /dev/null -D "$dir/preflight.headers" -w '%{http_code}' -X OPTIONS \
    -H "Origin: $origin" -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: authorization,content-type' "$CAPTURE_URL" 2>/dev/null) || status=000
  allow=$(header_value "$dir/preflight.headers" access-control-allow-headers | tr '[:upper:]' '[:lower:]')
  if [[ $status != 200 && $status != 204 ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; the capture preflight answered $status"
  elif [[ $(header_value "$dir/preflight.headers" access-control-allow-origin) != "$origin" ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; the capture preflight does not admit $origin"
  elif [[ ,${allow// /}, != *,authorization,* || ,${allow// /}, != *,content-type,* ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; the capture preflight allows headers '$allow', not authorization and content-type"
  fi
  status=$(curl -sS --max-time 30 -o "$dir/capture.body" -D "$dir/capture.headers" -w '%{http_code}' -X POST \
    -H "Origin: $origin" -H 'Content-Type: application/json' --data '{}' "$CAPTURE_URL" 2>/dev/null) || status=000
  if [[ $status != 401 ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; a capture without a token answered $status, not 401"
  elif [[ $(header_value "$dir/capture.headers" content-type) != application/problem+json* ]]; then
    VERIFY_PROBLEMS="$VERIFY_PROBLEMS; a capture without a token answered 401 without problem JSON"
  fi
  VERIFY_PROBLEMS=${VERIFY_PROBLEMS#; }
  [[ -z $VERIFY_PROBLEMS ]]
}

# Health 200 with both backends connected, an extension-style CORS preflight to
# capture admitted with the allow headers, a capture without token 401 problem
# JSON; one line of verdict. A brand-new function can take a minute to become
# public, so a failed pass is tried again twice, 20 s apart.
verify_deployment() {
  command -v curl >/dev/null 2>&1 || die "curl is needed to verify the deployment"
  local origin="chrome-extension://${EXTENSION_ID:-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}" attempt
  for attempt in 1 2 3; do
    if verify_once "$origin"; then
      say "verify: OK: health 200 (firestore and pubsub connected); capture preflight admits $origin with authorization, content-type; capture without a token is 401 problem JSON"
      return 0
    fi
    ((attempt < 3)) && sleep 20
  done
  say "verify: FAILED: $VERIFY_PROBLEMS"
  return 1
}

# Leaves in HEALTH_URL and CAPTURE_URL the URLs of the deployed health and capture
# (the router's paths with --single-url or --only api); returns 1 if one is missing.
find_deployed_urls() {
  if [[ $SINGLE_URL == true || $ONLY == "$ROUTER_FUNCTION" ]]; then
    query functions describe "$ROUTER_FUNCTION" --gen2 --region="$REGION" --format='value(serviceConfig.uri)' ||
      return 1
    HEALTH_URL="$ANSWER/api/health" CAPTURE_URL="$ANSWER/api/tweets/capture"
  else
    query functions describe health --gen2 --region="$REGION" --format='value(serviceConfig.uri)' || return 1
    HEALTH_URL=$ANSWER
    query functions describe capture --gen2 --region="$REGION" --format='value(serviceConfig.uri)' || return 1
    CAPTURE_URL=$ANSWER
  fi
  [[ $HEALTH_URL =~ $URL_RE && $CAPTURE_URL =~ $URL_RE ]] || die "unexpected URLs: '$HEALTH_URL', '$CAPTURE_URL'"
}

# --verify: the URLs given, or those of the deployed functions.
verify_only() {
  if [[ -n $BASE_URL ]]; then
    HEALTH_URL=${HEALTH_URL:-${BASE_URL%/}/api/health}
    CAPTURE_URL=${CAPTURE_URL:-${BASE_URL%/}/api/tweets/capture}
  elif [[ -z $HEALTH_URL ]]; then
    [[ $DRY_RUN == true ]] && die "--verify has nothing to check in a dry run"
    find_deployed_urls || die "health and capture are not deployed in $PROJECT ($REGION): run ./deploy.sh first"
  fi
  verify_deployment
}

# ---------------------------------------------------------------------------

main() {
  parse_args "$@"
  validate_settings
  # Deploy from the repository root, whatever the caller's directory: --source=.
  # uploads it, filtered by .gcloudignore.
  cd "$(dirname "${BASH_SOURCE[0]}")"

  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/deploy.XXXXXX")
  KEEP_WORK_DIR=false
  trap 'rm -rf "$WORK_DIR"/gcloud-config-*; [[ $KEEP_WORK_DIR == true ]] || rm -rf "$WORK_DIR"' EXIT

  if [[ $VERIFY_ONLY == true ]]; then
    verify_only
    return
  fi
  if [[ -z $EXTENSION_ID ]]; then
    say "Note: no --extension-id, so ALLOWED_ORIGINS stays at its default (any chrome-extension:// origin)."
  fi
  check_login_and_project
  enable_apis
  check_public_access_allowed
  ensure_firestore
  ensure_ttl_policies
  ensure_indexes
  ensure_security_rules
  ensure_topics
  ensure_tick_job
  ensure_service_account
  ensure_jwt_secret
  ensure_image_repository
  ensure_build_service_account

  local functions
  read -r -a functions <<<"$(selected_functions)"
  case " ${functions[*]} " in
    *" $RETRY_FUNCTION "*) ensure_eventarc_agent ;;
  esac
  deploy_functions "${functions[@]}"
  case " ${functions[*]} " in
    *" $RETRY_FUNCTION "*) ensure_retry_invoker ;;
  esac
  ensure_alerts
  ensure_budget
  print_urls
  [[ $DRY_RUN == true || $ONLY == "$RETRY_FUNCTION" ]] && return 0
  if [[ -n $ONLY ]] && ! find_deployed_urls; then
    say "Note: health or capture is not deployed, so the deployment was not verified."
    return 0
  fi
  verify_deployment || die "the deployment does not answer as it should (see the verdict above)"
}

main "$@"
