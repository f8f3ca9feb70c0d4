#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the SDK's browser tests when it is
# missing. Idempotent and silent when it is already there. Never downloads a browser of
# its own: the tests drive this system Chromium through playwright-core (executablePath).
# Needs root (or passwordless sudo). Exits 1 when it cannot install, so CI notices; the
# browser tests themselves skip (naming /usr/bin/chromium) when the binary is absent.
set -u
[ -x /usr/bin/chromium ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "ensure-chromium: /usr/bin/chromium is missing and this user cannot install it (not root)" >&2
    exit 1
  fi
fi
echo "ensure-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium; } >/tmp/ensure-chromium.log 2>&1; then
  echo "ensure-chromium: apt-get install chromium failed (log: /tmp/ensure-chromium.log)" >&2
  tail -n 20 /tmp/ensure-chromium.log >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then echo "ensure-chromium: installed, but /usr/bin/chromium is still missing" >&2; exit 1; fi
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)" >&2
exit 0
