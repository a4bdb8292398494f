#!/usr/bin/env bash
# Runs every test of the project: the library's (cargo test, real processes), then the kernel's
# and the notebooks' through a real Jupyter kernel, then the browser test. Installs what they need
# into the project (.venv, node_modules) first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

echo "== library tests (cargo test) =="
cargo test --workspace --exclude multiproc-kernel

# Kernel, notebook and browser tests are added below by their issues.

echo "== browser test (JupyterLab in headless Chromium) =="
tests/browser/run.sh
