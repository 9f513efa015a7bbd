#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is at /usr/bin/chromium: the HTML report test opens
# the report in it (tests/test_report_browser.py). Installed from Debian's packages when missing,
# never downloaded by `playwright install` (no network but the package registries here).
set -uo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  echo "installing Chromium from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is not installed at /usr/bin/chromium; the HTML report test will fail under CI" >&2
fi
exit 0
