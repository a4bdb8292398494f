#!/usr/bin/env bash
# Runs every test of the project: the library's (cargo test, real processes), then the kernel's
# and the notebooks' through a real Jupyter kernel, then the browser test. Installs what they need
# into the project (.venv, node_modules) first; safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

echo "== library tests (cargo test) =="
cargo test --workspace --exclude multiproc-kernel

echo "== kernel: .venv, kernel build and install, library pre-build (scripts/setup.sh) =="
scripts/setup.sh
echo "== kernel unit tests (release profile: reuses the kernel's build) =="
cargo test --release -p multiproc-kernel
echo "== kernel tests through Jupyter (pytest + jupyter_client, real kernel) =="
.venv/bin/python -m pytest -p no:cacheprovider tests/kernel
echo "== notebooks 00-06 top to bottom through the kernel, exercise checks with reference solutions =="
.venv/bin/python -m pytest -p no:cacheprovider tests/notebooks

echo "== browser test (JupyterLab in headless Chromium) =="
tests/browser/run.sh
echo "== classroom image recipe (docker/check.sh; no Docker engine on CI) =="
docker/check.sh
