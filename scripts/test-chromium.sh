#!/usr/bin/env bash
# Install (if missing) Debian's Chromium for the browser tests; prints its path on stdout.
#
#   export DOORSTEP_TEST_CHROMIUM="$(scripts/test-chromium.sh)"
#
# Only Debian's package is used: no test or tool downloads a browser of its own.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1; then
  echo "test-chromium: installing Chromium from Debian's packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v chromium
echo "test-chromium: $(chromium --version 2>/dev/null || echo chromium)" >&2
