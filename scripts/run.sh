#!/usr/bin/env bash
# Quickstart, command 1: install what is needed, then start the whole service on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node_modules/.bin/tsx scripts/start.ts
