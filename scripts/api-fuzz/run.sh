#!/usr/bin/env bash
# Fuzzes a running HTTP API from its OpenAPI document with schemathesis (installed by setup.sh).
#
#   scripts/api-fuzz/run.sh URL [extra `st run` args...]
#   e.g. scripts/api-fuzz/run.sh http://127.0.0.1:8080/openapi.json
#
# Bounded and reproducible: a fixed number of generated cases per operation, a fixed seed, no
# state carried over from earlier runs, and a wall-time limit. Prints schemathesis' report and
# exits non-zero on any failed check, on a warning that means the run tested little (see
# schemathesis.toml), on a schema or network error, or when the wall time runs out.
#
# Environment (all optional):
#   SHOPCTL_FUZZ_TOKEN            sends `Authorization: Bearer <token>` with every request
#   SHOPCTL_FUZZ_EXAMPLES         max generated cases per operation in the fuzzing phase (default 25;
#                                 the coverage phase adds its boundary cases on top)
#   SHOPCTL_FUZZ_SEED             random seed (default 20240611); same seed + same API = same cases
#   SHOPCTL_FUZZ_TIMEOUT          wall-time limit of the whole run, in seconds (default 900)
#   SHOPCTL_FUZZ_REQUEST_TIMEOUT  per-request timeout, in seconds (default 10)
#   SHOPCTL_FUZZ_WAIT_FOR_SCHEMA  seconds to wait for URL to answer, for a server still starting (default 30)
#   SHOPCTL_FUZZ_CHECKS           comma-separated checks replacing the default list (CHECKS_DEFAULT
#                                 below; see README.md), or '+name,...' to add to it
#                                 (e.g. +positive_data_acceptance)
#   SHOPCTL_FUZZ_BASE_URL         API base URL when it is not the origin of URL (st --url)
#   SHOPCTL_FUZZ_REPORT_DIR       where the JUnit XML report goes (default <cache>/api-fuzz/report)
#   SHOPCTL_CACHE_DIR             cache root holding the venv (default ~/.cache/shopctl)
#   SHOPCTL_PYTHON                Python >= 3.11 that setup.sh builds the venv with (default python3)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() { printf 'api-fuzz: error: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

if [[ $# -lt 1 ]]; then usage >&2; exit 2; fi
case "$1" in -h | --help) usage; exit 0 ;; -*) die "the first argument must be the OpenAPI URL (got '$1')" ;; esac
LOCATION="$1"
shift

# The checks (schemathesis 4.32.5 names, see README.md):
# use_after_free is left out: DELETE /reservation/{id} cancels a reservation, which stays readable
# with status `cancelled` (a state, not a deletion), so its "still available after DELETE" is right.
CHECKS_DEFAULT="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,missing_required_header,ignored_auth,unsupported_method,allow_header_conformance,ensure_resource_availability"
CHECKS="${SHOPCTL_FUZZ_CHECKS:-$CHECKS_DEFAULT}"
# A leading '+' adds to the default list instead of replacing it: SHOPCTL_FUZZ_CHECKS=+positive_data_acceptance
if [[ "$CHECKS" == +* ]]; then CHECKS="$CHECKS_DEFAULT,${CHECKS#+}"; fi
EXAMPLES="${SHOPCTL_FUZZ_EXAMPLES:-25}"
SEED="${SHOPCTL_FUZZ_SEED:-20240611}"
WALL="${SHOPCTL_FUZZ_TIMEOUT:-900}"
REQUEST_TIMEOUT="${SHOPCTL_FUZZ_REQUEST_TIMEOUT:-10}"
WAIT_FOR_SCHEMA="${SHOPCTL_FUZZ_WAIT_FOR_SCHEMA:-30}"

is_uint() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_uint "$EXAMPLES" || die "SHOPCTL_FUZZ_EXAMPLES must be a positive integer (got '$EXAMPLES')"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SHOPCTL_FUZZ_SEED must be a non-negative integer (got '$SEED')"
is_uint "$WALL" || die "SHOPCTL_FUZZ_TIMEOUT must be a positive number of seconds (got '$WALL')"
is_uint "$REQUEST_TIMEOUT" || die "SHOPCTL_FUZZ_REQUEST_TIMEOUT must be a positive number of seconds (got '$REQUEST_TIMEOUT')"
is_uint "$WAIT_FOR_SCHEMA" || die "SHOPCTL_FUZZ_WAIT_FOR_SCHEMA must be a positive number of seconds (got '$WAIT_FOR_SCHEMA')"
command -v timeout >/dev/null 2>&1 || die "'timeout' (coreutils) not found"

CACHE="${SHOPCTL_CACHE_DIR:-$HOME/.cache/shopctl}"
WORK="$CACHE/api-fuzz"
REPORT_DIR="${SHOPCTL_FUZZ_REPORT_DIR:-$WORK/report}"
mkdir -p "$WORK" "$REPORT_DIR"
# Hypothesis writes its scratch files (.hypothesis/) into the current directory unless told otherwise.
export HYPOTHESIS_STORAGE_DIRECTORY="$WORK/hypothesis"

ST="$(bash "$HERE/setup.sh")"

args=(
  --config-file "$HERE/schemathesis.toml"
  run "$LOCATION"
  --checks "$CHECKS"
  --max-examples "$EXAMPLES"
  --seed "$SEED"
  # Without this, Hypothesis replays inputs saved by earlier runs: results would depend on history.
  --generation-database none
  --workers 1
  --request-timeout "$REQUEST_TIMEOUT"
  --wait-for-schema "$WAIT_FOR_SCHEMA"
  --report junit
  --report-junit-path "$REPORT_DIR/junit.xml"
)
if [[ -n "${SHOPCTL_FUZZ_BASE_URL:-}" ]]; then args+=(--url "$SHOPCTL_FUZZ_BASE_URL"); fi
shown=("${args[@]}")
if [[ -n "${SHOPCTL_FUZZ_TOKEN:-}" ]]; then
  args+=(--header "Authorization: Bearer $SHOPCTL_FUZZ_TOKEN")
  shown+=(--header "Authorization: Bearer [SHOPCTL_FUZZ_TOKEN]")
fi
args+=("$@")
shown+=("$@")

printf 'api-fuzz: %s' "$ST" >&2
printf ' %q' "${shown[@]}" >&2
printf '\napi-fuzz: wall-time limit %ss\n' "$WALL" >&2

# --max-time is NOT a cap in schemathesis 4.32.5: it is a budget that fuzzing and stateful
# phases keep cycling to spend, so the run would always last that long. The wall-time limit
# is `timeout` instead: SIGINT first (schemathesis stops and prints its summary), SIGKILL 30 s later.
status=0
timeout --signal=INT --kill-after=30 "$WALL" "$ST" "${args[@]}" || status=$?

case "$status" in
  0) printf 'api-fuzz: passed (report: %s/junit.xml)\n' "$REPORT_DIR" >&2 ;;
  124 | 137) printf 'api-fuzz: FAILED: the run exceeded SHOPCTL_FUZZ_TIMEOUT=%ss and was stopped\n' "$WALL" >&2; status=124 ;;
  *) printf 'api-fuzz: FAILED (st exit status %s; report: %s/junit.xml)\n' "$status" "$REPORT_DIR" >&2 ;;
esac
exit "$status"
