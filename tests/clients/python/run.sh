#!/usr/bin/env bash
# Python client conformance suite: HubSpot's official SDK, requests and curl against a real
# hubport binary. Usage (from any directory):
#   bash tests/clients/python/run.sh [extra pytest args]
# Env: HUBPORT_BIN (default <repo>/target/debug/hubport; build it first with `cargo build`),
#      HUBPORT_CLIENTS_VENV (default <repo>/target/clients/python-venv), PYTHON (default python3).
# Exits with pytest's code.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="${HUBPORT_CLIENTS_VENV:-$repo/target/clients/python-venv}"
python="${PYTHON:-python3}"

export HUBPORT_BIN="${HUBPORT_BIN:-$repo/target/debug/hubport}"
if [[ ! -x "$HUBPORT_BIN" ]]; then
  echo "run.sh: no hubport binary at $HUBPORT_BIN (run cargo build, or set HUBPORT_BIN)" >&2
  exit 2
fi

if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$here/requirements.txt" </dev/null

cd "$repo"
set +e
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/clients/python "$@" </dev/null
code=$?
set -e
exit "$code"
