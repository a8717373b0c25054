#!/usr/bin/env bash
# Deploys Tweet Capture API to Cloud Functions (2nd gen) together with everything
# it needs: APIs, Firestore (Native mode) with TTL policies and the retry index,
# Pub/Sub topics, the Cloud Scheduler tick, the JWT signing key in Secret
# Manager and a least-privilege service account. After the deploys it bounds
# the build images they leave behind with a cleanup policy.
#
# Idempotent: every resource is looked up before it is created, so a second run
# only redeploys the functions (gcloud's deploy is itself an update).
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
readonly DATABASE='(default)'
readonly RUNTIME=python313
readonly HTTP_FUNCTIONS='register login refresh logout capture health'
readonly ROUTER_FUNCTION=api
# Deployed as retry-queue (entry point retry_queue): a hyphenated name is also a
# valid Cloud Run service name, which the invoker binding below refers to.
readonly RETRY_FUNCTION=retry-queue
# Functions that sign or verify tokens refuse to start without JWT_SECRET_KEY.
readonly FUNCTIONS_WITH_JWT='register login refresh logout capture api'
readonly APIS='cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com
artifactregistry.googleapis.com firestore.googleapis.com pubsub.googleapis.com
cloudscheduler.googleapis.com secretmanager.googleapis.com eventarc.googleapis.com
logging.googleapis.com iam.googleapis.com cloudresourcemanager.googleapis.com'
# Every 2nd gen deploy pushes a container image per function into this Artifact
# Registry repository of the function's region (Cloud Functions creates it on the
# first deploy). Its free tier is 0.5 GB, so a cleanup policy keeps the 2 most
# recent versions of each image and deletes the rest (keep rules win over delete
# rules). Enums are spelled as the API reports them, so describe echoes the file.
readonly GCF_REPOSITORY=gcf-artifacts
readonly CLEANUP_POLICY='[{"name":"keep-2-most-recent","action":{"type":"KEEP"},"mostRecentVersions":{"keepCount":2}},{"name":"delete-older-versions","action":{"type":"DELETE"},"condition":{"tagState":"ANY"}}]'
# The same policy as `describe --format=json(cleanupPolicies)` reports it, without whitespace.
readonly CLEANUP_POLICY_DESCRIBED='{"cleanupPolicies":{"delete-older-versions":{"action":"DELETE","condition":{"tagState":"ANY"},"id":"delete-older-versions"},"keep-2-most-recent":{"action":"KEEP","id":"keep-2-most-recent","mostRecentVersions":{"keepCount":2}}}}'

# gcloud must never stop to ask a question: answers come from the flags below.
export CLOUDSDK_CORE_DISABLE_PROMPTS=1

usage() {
  cat <<'EOF'
Usage: ./deploy.sh --owner-email EMAIL [options]

Creates (only when missing) the APIs, Firestore database (Native mode), TTL
policies, composite index, Pub/Sub topics, scheduler job, JWT secret and service
account, then deploys every function, sets a cleanup policy on the build images'
repository (gcf-artifacts: keep the 2 most recent versions of each image) and
prints the functions' URLs and the extension's configuration JSON (the JSON
alone goes to stdout).

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
  --only NAME             (re)deploy just this function: register, login, refresh,
                          logout, capture, health, api or retry-queue
  --single-url            deploy the one "api" router (paths /api/...) instead of
                          one function per endpoint
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
      --*=*)
        # Split "--flag=value" and handle it as "--flag value".
        local flag=${1%%=*} value=${1#*=}
        shift
        set -- "$flag" "$value" "$@"
        continue
        ;;
      --project | --region | --owner-email | --extension-id | --firestore-location | --only)
        local value
        value=$(flag_value "$1" "${2-}") || exit 2
        case $1 in
          --project) PROJECT=$value ;;
          --region) REGION=$value ;;
          --owner-email) OWNER_EMAIL=$value ;;
          --extension-id) EXTENSION_ID=$value ;;
          --firestore-location) FIRESTORE_LOCATION=$value ;;
          --only) ONLY=$value ;;
        esac
        shift
        ;;
      *) usage_error "unknown argument: $1" ;;
    esac
    shift
  done
}

# Checks every setting before anything is touched. The patterns are strict on
# purpose: values end up in gcloud arguments and in the functions' environment.
validate_settings() {
  if [[ $DRY_RUN != true ]] && ! command -v gcloud >/dev/null 2>&1; then
    die "gcloud not found: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)"
  fi
  if [[ -z $PROJECT ]]; then
    # A local read of gcloud's configuration, not an API call.
    PROJECT=$(gcloud config get-value project 2>/dev/null || true)
  fi
  [[ -n $PROJECT ]] || usage_error "no project: pass --project, set GCP_PROJECT_ID or run 'gcloud config set project ID'"
  [[ -n $OWNER_EMAIL ]] || usage_error "no owner e-mail: pass --owner-email or set OWNER_EMAIL (only it may register)"

  local project_re='^[a-z][a-z0-9-]{4,28}[a-z0-9]$'
  local region_re='^[a-z]+-[a-z]+[0-9]+$'
  local email_re='^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'
  local extension_re='^[a-p]{32}$'
  [[ $PROJECT =~ $project_re ]] || usage_error "'$PROJECT' is not a project ID"
  [[ $REGION =~ $region_re ]] || usage_error "'$REGION' is not a region (e.g. us-central1)"
  [[ $OWNER_EMAIL =~ $email_re ]] || usage_error "'$OWNER_EMAIL' is not an e-mail address"
  if [[ -n $EXTENSION_ID && ! $EXTENSION_ID =~ $extension_re ]]; then
    usage_error "'$EXTENSION_ID' is not a Chrome extension id (32 letters a-p)"
  fi
  FIRESTORE_LOCATION=${FIRESTORE_LOCATION:-$REGION}
  if [[ -n $ONLY ]]; then
    [[ $ONLY == retry_queue ]] && ONLY=$RETRY_FUNCTION
    case " $HTTP_FUNCTIONS $ROUTER_FUNCTION $RETRY_FUNCTION " in
      *" $ONLY "*) ;;
      *) usage_error "--only: unknown function '$ONLY'" ;;
    esac
  fi
  SA_EMAIL="$SA_NAME@$PROJECT.iam.gserviceaccount.com"
  SA_MEMBER="serviceAccount:$SA_EMAIL"
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

# Runs a gcloud command that changes the project (its output goes to stderr).
change() {
  show_command "$@" --project="$PROJECT"
  [[ $DRY_RUN == true ]] && return 0
  gcloud "$@" --project="$PROJECT" >&2
}

# `change` for IAM bindings: a service account created a moment ago can be
# unknown to IAM for up to a minute, so that one error is waited out.
change_retrying() {
  show_command "$@" --project="$PROJECT"
  [[ $DRY_RUN == true ]] && return 0
  local attempt
  for attempt in 1 2 3 4 5 6; do
    # Its stdout is the whole new policy: noise. Its stderr is shown on failure.
    if gcloud "$@" --project="$PROJECT" >/dev/null 2>"$WORK_DIR/change.err"; then
      return 0
    fi
    cat "$WORK_DIR/change.err" >&2
    grep -Eq 'account .*does not exist' "$WORK_DIR/change.err" || die "gcloud $1 $2 failed"
    say "  (attempt $attempt: the new service account is not known yet; retrying in 10 s)"
    sleep 10
  done
  die "gcloud $1 $2 kept failing"
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
  ANSWER=$(gcloud "$@" --project="$PROJECT" 2>"$WORK_DIR/query.err") || status=$?
  ((status == 0)) && return 0
  if grep -Eq 'NOT_FOUND|[Nn]ot found|does not exist|status=\[404\]' "$WORK_DIR/query.err"; then
    return 1
  fi
  cat "$WORK_DIR/query.err" >&2
  die "could not run: gcloud $*"
}

# Whether the service account holds ROLE in the IAM policy that the given
# get-iam-policy command (without its flags) returns.
has_role() {
  local role=$1
  shift
  query "$@" --flatten='bindings[].members' --format='value(bindings.role,bindings.members)' || return 1
  local tab=$'\t'
  [[ $'\n'"$ANSWER"$'\n' == *$'\n'"$role$tab$SA_MEMBER"$'\n'* ]]
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
  gcloud projects describe "$PROJECT" --format='value(projectId)' >/dev/null 2>&1 ||
    die "project '$PROJECT' does not exist or $account cannot see it"
  say "Deploying to project $PROJECT ($REGION) as $account"
}

enable_apis() {
  local enabled="" missing="" api
  if query services list --enabled --format='value(config.name)'; then
    enabled=$ANSWER
  fi
  for api in $APIS; do
    [[ $'\n'"$enabled"$'\n' == *$'\n'"$api"$'\n'* ]] || missing="$missing $api"
  done
  [[ -z $missing ]] && return 0
  # shellcheck disable=SC2086 # one word per API
  change services enable $missing
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

# The retry replay asks: status IN [...] AND nextAttemptAt <= now ORDER BY
# nextAttemptAt. Firestore appends __name__ to every composite index.
ensure_queue_index() {
  if query firestore indexes composite list --database="$DATABASE" \
    --format='value(name,queryScope,fields[].fieldPath,fields[].order)'; then
    local wanted='/collectionGroups/queue/indexes/[^[:space:]]+[[:space:]]+COLLECTION[[:space:]]+status;nextAttemptAt(;__name__)?[[:space:]]+ASCENDING;ASCENDING(;ASCENDING)?$'
    grep -Eq "$wanted" <<<"$ANSWER" && return 0
  fi
  # --async: building takes minutes; until then a replay fails and the next tick retries.
  change firestore indexes composite create --collection-group=queue --query-scope=collection \
    --field-config=field-path=status,order=ascending \
    --field-config=field-path=nextAttemptAt,order=ascending \
    --database="$DATABASE" --async
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
    change_retrying projects add-iam-policy-binding "$PROJECT" --member="$SA_MEMBER" \
      --role=roles/datastore.user --condition=None
  local role
  for role in roles/pubsub.publisher roles/pubsub.viewer; do
    has_role "$role" pubsub topics get-iam-policy "$TOPIC" ||
      change_retrying pubsub topics add-iam-policy-binding "$TOPIC" --member="$SA_MEMBER" --role="$role"
  done
}

# The JWT signing key is generated here once and lives only in Secret Manager;
# the functions receive it through --set-secrets, never as a plain variable.
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
    change_retrying secrets add-iam-policy-binding "$SECRET" --member="$SA_MEMBER" \
      --role=roles/secretmanager.secretAccessor
}

# ---------------------------------------------------------------------------
# Deploying

# Fills DEPLOY_ARGS with the `gcloud functions deploy` arguments for one function.
# Sizes aim at a $0 single-user budget: scale to zero, few instances.
DEPLOY_ARGS=()
deploy_args() {
  local name=$1 entry_point=$1 memory=256Mi timeout=30s max_instances=3
  local env="GCP_PROJECT_ID=$PROJECT|PUBSUB_TOPIC=$TOPIC"
  [[ $name == "$RETRY_FUNCTION" ]] && entry_point=retry_queue
  DEPLOY_ARGS=(functions deploy "$name" --gen2 --runtime="$RUNTIME" --region="$REGION" --source=.
    --entry-point="$entry_point" --service-account="$SA_EMAIL")
  if [[ $name == "$RETRY_FUNCTION" ]]; then
    # One instance: ticks are 10 minutes apart and a run never needs a second.
    # No --retry: the next tick is the retry.
    timeout=120s max_instances=1
    DEPLOY_ARGS+=(--trigger-topic="$TICK_TOPIC" --trigger-service-account="$SA_EMAIL")
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
    *" $name "*) DEPLOY_ARGS+=(--set-secrets="JWT_SECRET_KEY=$SECRET:latest") ;;
  esac
  return 0
}

# Deploys the named functions in parallel, one background gcloud each with its
# output in its own log; waits for all and fails if any failed, showing its log.
deploy_functions() {
  local names=("$@") pids=() name i failed=""
  for name in "${names[@]}"; do
    deploy_args "$name"
    show_command "${DEPLOY_ARGS[@]}" --project="$PROJECT"
    [[ $DRY_RUN == true ]] && continue
    gcloud "${DEPLOY_ARGS[@]}" --project="$PROJECT" >"$WORK_DIR/deploy-$name.log" 2>&1 </dev/null &
    pids+=("$!")
  done
  [[ $DRY_RUN == true ]] && return 0
  say "Waiting for ${#names[@]} deployment(s); this takes a few minutes..."
  for i in "${!names[@]}"; do
    name=${names[$i]}
    if wait "${pids[$i]}"; then
      say "  deployed $name"
    else
      failed="$failed $name"
      say "  FAILED $name; its gcloud output:"
      sed 's/^/    | /' "$WORK_DIR/deploy-$name.log" >&2
    fi
  done
  if [[ -n $failed ]]; then
    KEEP_WORK_DIR=true
    die "deployment failed for:$failed (logs kept in $WORK_DIR)"
  fi
}

# Eventarc invokes retry-queue (a private service) as the service account.
ensure_retry_invoker() {
  has_role roles/run.invoker run services get-iam-policy "$RETRY_FUNCTION" --region="$REGION" ||
    change_retrying run services add-iam-policy-binding "$RETRY_FUNCTION" --region="$REGION" \
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

# Bounds the images the deploys leave in gcf-artifacts: sets CLEANUP_POLICY unless
# the repository already has exactly it (any other policy is replaced). Under
# --dry-run the repository counts as existing: the deploys printed would create it.
ensure_cleanup_policy() {
  if [[ $DRY_RUN != true ]]; then
    if ! query artifacts repositories describe "$GCF_REPOSITORY" --location="$REGION" \
      --format='json(cleanupPolicies,cleanupPolicyDryRun)'; then
      say "Note: no $GCF_REPOSITORY repository in $REGION, so no cleanup policy was set."
      return 0
    fi
    local found
    found=$(tr -d '[:space:]' <<<"$ANSWER")
    # Dry-run mode explicitly off is the same as never turned on.
    found=${found/,\"cleanupPolicyDryRun\":false/}
    [[ $found == "$CLEANUP_POLICY_DESCRIBED" ]] && return 0
  fi
  set_cleanup_policy
}

# URL of a deployed function (a placeholder under --dry-run).
function_url() {
  local name=$1
  if [[ $DRY_RUN == true ]]; then
    printf 'https://%s.example.invalid' "$name"
    return 0
  fi
  query functions describe "$name" --gen2 --region="$REGION" --format='value(serviceConfig.uri)' ||
    die "function $name is not deployed: run ./deploy.sh without --only first"
  local url_re='^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._/-]*)?$'
  [[ $ANSWER =~ $url_re ]] || die "unexpected URL for $name: '$ANSWER'"
  printf '%s' "$ANSWER"
}

# Lists the URLs (stderr) and prints the extension's configuration JSON (stdout).
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
    for name in register login refresh logout; do
      json="$json$separator  \"${name}Url\": \"$url/api/auth/$name\""
    done
    json="$json$separator  \"captureUrl\": \"$url/api/tweets/capture\""
    json="$json$separator  \"healthUrl\": \"$url/api/health\""
  else
    for name in $HTTP_FUNCTIONS; do
      url=$(function_url "$name")
      say "$name: $url"
      json="$json$separator  \"${name}Url\": \"$url\""
      separator=$',\n'
    done
  fi
  say ""
  say "Extension configuration (paste it into the extension's settings):"
  printf '{\n%s\n}\n' "$json"
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
  trap '[[ $KEEP_WORK_DIR == true ]] || rm -rf "$WORK_DIR"' EXIT

  if [[ -z $EXTENSION_ID ]]; then
    say "Note: no --extension-id, so ALLOWED_ORIGINS stays at its default (any chrome-extension:// origin)."
  fi
  check_login_and_project
  enable_apis
  ensure_firestore
  ensure_ttl_policies
  ensure_queue_index
  ensure_topics
  ensure_tick_job
  ensure_service_account
  ensure_jwt_secret

  local functions
  read -r -a functions <<<"$(selected_functions)"
  deploy_functions "${functions[@]}"
  case " ${functions[*]} " in
    *" $RETRY_FUNCTION "*) ensure_retry_invoker ;;
  esac
  ensure_cleanup_policy
  print_urls
}

main "$@"
