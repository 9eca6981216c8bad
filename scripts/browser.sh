#!/usr/bin/env bash
# Install Debian's headless Chromium for the dashboard's browser test, once, before pytest runs
# (an install inside a test would race the per-test timeout). Fast when it is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "browser: Chromium is missing and cannot be installed here; the browser test will skip" >&2
    exit 0
fi
echo "browser: installing chromium with apt-get (once)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium chromium-driver </dev/null >/dev/null
