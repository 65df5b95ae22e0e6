#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the search page's browser
# test (tests/unittests/test_serve.py) when they are missing. Needs root and
# apt-get; elsewhere it only says so, and the browser test skips with a
# message naming what is missing.
set -uo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    exit 0
fi
if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null; then
    echo "[setup] chromium/chromedriver not installed and no root apt-get:" \
        "the browser test will be skipped"
    exit 0
fi
echo "[setup] installing chromium and chromium-driver (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium chromium-driver \
        >/dev/null; }; then
    echo "[setup] could not install chromium: the browser test will be skipped"
fi
exit 0
