#!/usr/bin/env bash
# Runs every test: type check, lint (including the determinism rules for src/contracts), the
# formatter's check (`npm run format` fixes what it finds), then
# every *.test.ts under src/ and test/ with node's test runner. Benchmarks are never run here.
# Progress prints as dots, each failure in full at the end; the full TAP goes to a temporary
# file, from which the totals are printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
# The etcd orderer's integration tests run real etcd members (Debian's etcd-server); CI is a
# fresh Debian machine running as root.
if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "etcd is not installed: install it with \`apt-get install etcd-server\`" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server
fi
# The web app's end-to-end tests drive Debian's Chromium (never a browser a test tool downloads).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is not installed: install it with \`apt-get install chromium\`" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
npx tsc --noEmit
npx tsc --noEmit -p web
npm run --silent build:web
npx eslint .
npx prettier --check . --log-level warn
mapfile -t files < <(find src test -name '*.test.ts' | sort)
tap=$(mktemp -t chartchain-tests.XXXXXX.tap)
trap 'rm -f "$tap"' EXIT
status=0
# A test file that has not finished in fifteen minutes is hung (even deadlocked in native code,
# or kept alive by a handle it left open): the runner kills it and reports it by name, and the
# rest of the run goes on.
node --import tsx --test --test-concurrency=2 --test-timeout=900000 \
  --test-reporter=dot --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?
echo
node scripts/test-summary.mjs "$tap"
exit "$status"
