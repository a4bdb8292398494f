#!/usr/bin/env bash
# The browser test: JupyterLab from .venv with the project's kernel, driven in headless Chromium.
# Installs what it needs first, each step only if missing or out of date:
#   - Debian's chromium package (/usr/bin/chromium), with apt-get as root (CI) or through sudo;
#   - playwright-core, pinned in tests/browser/package-lock.json (npm ci, no browser download);
#   - .venv and the kernel, by scripts/setup.sh (fast when already set up).
# Then runs tests/browser/jupyterlab.test.mjs. Output and screenshots: target/browser/.
# Usage: tests/browser/run.sh        (environment: see the header of jupyterlab.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=tests/browser
say() { printf 'browser-test: %s\n' "$*"; }
die() { printf 'browser-test: %s\n' "$*" >&2; exit 1; }

# 1. Chromium from Debian (Playwright's own browser download does not work on these machines).
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    say "installing Debian's chromium package"
    if [ "$(id -u)" -eq 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else
        die "$CHROMIUM is missing and this user cannot install it: apt-get install chromium (as root)"
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
    [ -x "$CHROMIUM" ] || die "apt-get installed chromium but $CHROMIUM is still missing"
fi

# 2. playwright-core, exactly as locked.
command -v node >/dev/null || die "node not found: install Node.js 20 or newer"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    die "Node.js $(node --version) is too old for playwright-core: 20 or newer is needed"
lock_hash=$(sha256sum "$HERE/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$HERE/node_modules/.lock.sha256" 2>/dev/null)" != "$lock_hash" ]; then
    say "installing playwright-core (npm ci)"
    (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$HERE/node_modules/.lock.sha256"
fi

# 3. The project's environment and kernel.
scripts/setup.sh

# 4. The test.
say "running $HERE/jupyterlab.test.mjs"
exec node "$HERE/jupyterlab.test.mjs"
