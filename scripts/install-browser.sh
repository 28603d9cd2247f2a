#!/usr/bin/env bash
# Installs the headless browser the browser tests drive: Debian's chromium at /usr/bin/chromium,
# used through playwright-core (which cannot download its own browsers on these machines).
# Idempotent: when /usr/bin/chromium is there, it only says so.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "==> chromium: $("$CHROMIUM" --version 2>/dev/null || echo "present at $CHROMIUM")"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: $CHROMIUM is missing and apt-get is not available; install Chromium by hand" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-browser: $CHROMIUM is missing; run this script as root (apt-get install chromium)" >&2
    exit 1
  fi
fi

echo "==> installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-liberation

if [ ! -x "$CHROMIUM" ]; then
  echo "install-browser: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "==> chromium: $("$CHROMIUM" --version 2>/dev/null || echo "installed at $CHROMIUM")"
