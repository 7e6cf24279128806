#!/usr/bin/env bash
# Called by `make test`: the console's end-to-end tests drive Debian's Chromium through Playwright
# (Playwright's own browser download is not used: its CDN is not reachable from every machine, and
# Debian's package gets security updates with the system). Installs it when it is missing, with
# a CJK font: without one, headless Chromium draws the console's Chinese as empty boxes.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  exit 0
fi
echo "install-chromium: installing Chromium and a CJK font (Debian packages)" >&2
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo -n)  # never prompts: fails with a clear message instead of hanging CI
fi
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >&2
command -v chromium >/dev/null
