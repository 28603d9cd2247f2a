#!/usr/bin/env bash
# Quickstart, command 2: install what is needed, then run every test on the real stack
# (Temporal dev server and a fresh database on the PostgreSQL at 127.0.0.1:5432, dropped afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "==> type check (the service, then the storefront script: api/public/upsells.js, checked from its JSDoc)"
node_modules/.bin/tsc -p .
node_modules/.bin/tsc -p tsconfig.browser.json
echo "==> lint"
node_modules/.bin/eslint .
node_modules/.bin/prettier --check .
echo "==> tests (vitest)"
node_modules/.bin/vitest run "$@"
echo "==> browser tests (headless Chromium)"; bash scripts/install-browser.sh && node_modules/.bin/vitest run --config vitest.browser.config.ts
echo "==> reliability suite (faults, storms, hostile input)"; node_modules/.bin/tsx test/reliability/run.ts
echo "==> docker-compose.yml check"; bash scripts/check-compose.sh
