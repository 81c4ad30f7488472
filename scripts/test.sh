#!/usr/bin/env bash
# Runs every test: type check, lint (including the determinism rules for src/contracts), then
# every *.test.ts under src/ and test/ with node's test runner. Benchmarks are never run here.
# Progress prints as dots, each failure in full at the end; the full TAP goes to a temporary
# file, from which the totals are printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
npx eslint .
mapfile -t files < <(find src test -name '*.test.ts' | sort)
tap=$(mktemp -t chartchain-tests.XXXXXX.tap)
trap 'rm -f "$tap"' EXIT
status=0
node --import tsx --test --test-concurrency=2 \
  --test-reporter=dot --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  "${files[@]}" || status=$?
echo
node scripts/test-summary.mjs "$tap"
exit "$status"
