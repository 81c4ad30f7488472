#!/usr/bin/env bash
# Runs every test: type check, lint (including the determinism rules for src/contracts), then
# every *.test.ts under src/ and test/ with node's test runner. Benchmarks are never run here.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit
npx eslint .
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 "${files[@]}"
