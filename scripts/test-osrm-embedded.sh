#!/usr/bin/env bash
# Run the travel-time provider tests under Python 3.12 with the embedded OSRM (`osrm-bindings`).
#
#   scripts/test-osrm-embedded.sh [extra pytest arguments]
#
# `osrm-bindings` ships wheels for Python >= 3.12 only, and the project's own venv (.venv) may be
# older, so this script keeps a second venv, .venv312/ (override with $DOORSTEP_VENV312), made
# with the first Python >= 3.12 it finds ($DOORSTEP_PYTHON312, pyenv's versions, then PATH).
# It installs the project with the `dev` and `osrm` extras there when the venv is new or
# pyproject.toml changed, then runs the network conformance suite and the embedded OSRM's own
# tests, where the embedded OSRM takes part (and must pass) because `osrm` imports.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${DOORSTEP_VENV312:-.venv312}"

find_python312() {
  # The first candidate that runs and is 3.12 or later (a pyenv shim may exist but refuse to run).
  local candidate
  for candidate in "${DOORSTEP_PYTHON312:-}" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python3 \
    "$(command -v python3.12 || true)" "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "test-osrm-embedded: no Python >= 3.12 found (set DOORSTEP_PYTHON312)" >&2
  exit 2
}

if [ ! -x "$VENV/bin/python" ]; then
  PYTHON312="$(find_python312)"
  echo "test-osrm-embedded: making $VENV with $PYTHON312" >&2
  "$PYTHON312" -m venv "$VENV"
fi
if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  echo "test-osrm-embedded: installing the project with .[dev,osrm] into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[dev,osrm]'
  touch "$VENV/.installed"
fi
"$VENV/bin/python" -c "import osrm" # fail here, clearly, if the extra did not install

# The embedded OSRM's tests fail, not skip, here if osrm-bindings is missing.
export DOORSTEP_TEST_OSRM_EMBEDDED=1
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  tests/network/test_provider_conformance.py \
  tests/network/test_osrm_embedded.py \
  "$@"
