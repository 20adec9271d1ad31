#!/usr/bin/env bash
# Installs schemathesis (the API fuzzer, pinned in requirements.txt next to this script) into a
# virtualenv under the shopctl cache dir, never inside the repo:
#   ${SHOPCTL_CACHE_DIR:-$HOME/.cache/shopctl}/venv-schemathesis
# Idempotent: a marker in the venv records the sha256 of requirements.txt (and the Python
# version); when it matches and `st` runs, nothing is done (well under a second). When
# requirements.txt changes, the venv is rebuilt from scratch.
#
# Prints the path of the `st` executable as the only line on stdout (progress goes to stderr),
# so callers can do:  ST="$(bash scripts/api-fuzz/setup.sh)"
#
# Environment:
#   SHOPCTL_CACHE_DIR  cache root (default ~/.cache/shopctl)
#   SHOPCTL_PYTHON     Python >= 3.11 to build the venv with (default: python3 on PATH)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
REQ="$HERE/requirements.txt"
CACHE="${SHOPCTL_CACHE_DIR:-$HOME/.cache/shopctl}"
VENV="$CACHE/venv-schemathesis"
MARKER="$VENV/.shopctl-requirements.sha256"
PY="${SHOPCTL_PYTHON:-python3}"

say() { printf 'api-fuzz setup: %s\n' "$*" >&2; }
die() { printf 'api-fuzz setup: error: %s\n' "$*" >&2; exit 1; }

[[ -f "$REQ" ]] || die "missing $REQ"

# The venv must live outside the repo (it would otherwise be linted, packed and committed by accident).
# (realpath -m resolves symlinks without needing the directory to exist yet.)
CACHE_ABS="$(realpath -m -- "$CACHE")"
REPO_ABS="$(realpath -m -- "$REPO_ROOT")"
case "$CACHE_ABS/" in
  "$REPO_ABS/"*) die "SHOPCTL_CACHE_DIR ($CACHE_ABS) is inside the repo ($REPO_ABS); point it elsewhere" ;;
esac
mkdir -p "$CACHE"

command -v "$PY" >/dev/null 2>&1 ||
  die "'$PY' not found: install Python 3.11+ (Debian: apt-get install -y python3 python3-venv) or set SHOPCTL_PYTHON"

# schemathesis 4.32.5 requires Python >= 3.11.
# One call prints "3.11.7 ok" (or "3.9.2 old").
read -r PY_VERSION PY_OK < <("$PY" -c 'import sys; v = sys.version_info; print("%d.%d.%d" % v[:3], "ok" if v >= (3, 11) else "old")') ||
  die "'$PY' does not run"
[[ "$PY_OK" == ok ]] || die "$PY is Python $PY_VERSION; schemathesis needs >= 3.11 (set SHOPCTL_PYTHON to a newer one)"

# What the installed venv must have been built from.
want="$({ sha256sum "$REQ" | cut -d' ' -f1; printf 'python %s\n' "$PY_VERSION"; } | sha256sum | cut -d' ' -f1)"

if [[ -f "$MARKER" && "$(<"$MARKER")" == "$want" && -x "$VENV/bin/st" ]] &&
  "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("schemathesis")' >/dev/null 2>&1; then
  say "up to date ($VENV)"
  printf '%s\n' "$VENV/bin/st"
  exit 0
fi

# Debian/Ubuntu ship `venv` without `ensurepip` unless the python3-venv package is installed;
# `python3 -m venv` then fails half-way. Detect it up front and say which package is missing.
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  minor="${PY_VERSION%.*}"
  die "$PY ($PY_VERSION) cannot create virtualenvs: its 'venv'/'ensurepip' modules are missing.
  On Debian/Ubuntu install the package python3-venv (for this Python: python${minor}-venv):
      apt-get update && apt-get install -y python3-venv
  then run this script again."
fi

# Serialise concurrent setups (e.g. two CI steps) on the same cache dir.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.venv-schemathesis.lock"
  flock 9
  # Someone else may have finished the job while we waited.
  if [[ -f "$MARKER" && "$(<"$MARKER")" == "$want" && -x "$VENV/bin/st" ]]; then
    say "up to date ($VENV)"
    printf '%s\n' "$VENV/bin/st"
    exit 0
  fi
fi

if [[ -e "$VENV" ]]; then
  say "requirements changed or venv incomplete: rebuilding $VENV"
  rm -rf "$VENV"
fi

say "creating venv with $PY ($PY_VERSION) at $VENV"
"$PY" -m venv "$VENV" >&2 || {
  rm -rf "$VENV"
  die "'$PY -m venv' failed (on Debian/Ubuntu: apt-get install -y python3-venv)"
}

say "installing $(grep -E '^schemathesis==' "$REQ") and its pinned dependencies (from PyPI)"
# --prefer-binary: jsonschema_rs is Rust; a wheel avoids needing a Rust toolchain.
if ! "$VENV/bin/python" -m pip install --no-input --disable-pip-version-check --prefer-binary \
  --quiet -r "$REQ" >&2; then
  rm -rf "$VENV"
  die "pip install -r $REQ failed (is PyPI reachable? see pip's message above)"
fi

"$VENV/bin/st" --version >&2 || { rm -rf "$VENV"; die "installed, but '$VENV/bin/st --version' fails"; }
printf '%s\n' "$want" >"$MARKER"
say "installed; st is $VENV/bin/st"
printf '%s\n' "$VENV/bin/st"
