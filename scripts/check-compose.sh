#!/usr/bin/env bash
# CI check: docker-compose.yml parses and interpolates (`docker compose config`), given dummy values
# for the variables it requires. Needs only the docker client with its compose plugin, no engine;
# where either is missing it says so and skips.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker >/dev/null 2>&1; then
  echo "check-compose: docker is not installed; skipping"
  exit 0
fi
if ! docker compose version >/dev/null 2>&1; then
  echo "check-compose: the docker compose plugin is not installed; skipping"
  exit 0
fi

# Dummy values, only so interpolation succeeds: every ${VAR:?message} in the file must be listed.
export OCART_API_KEY=check-compose-api-key-0123456789
export OCART_TOKEN_SECRETS=k1:check-compose-signing-secret-0123456789
export OCART_DB_PASSWORD=check-compose-db-password
export TEMPORAL_DB_PASSWORD=check-compose-temporal-db-password
export STRIPE_SECRET_KEY=sk_test_check_compose
export STRIPE_WEBHOOK_SECRET=whsec_check_compose
export PUBLIC_BASE_URL=https://shop.example.com

docker compose -f docker-compose.yml config -q

# And without them, compose must refuse, naming what is missing.
if env -u OCART_API_KEY docker compose -f docker-compose.yml config -q >/dev/null 2>&1; then
  echo "check-compose: docker-compose.yml starts without OCART_API_KEY; it must require it" >&2
  exit 1
fi
echo "check-compose: docker-compose.yml is valid"
