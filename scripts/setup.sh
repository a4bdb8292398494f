#!/usr/bin/env bash
# Sets up what the project needs, on a machine that has Rust (cargo) and Python 3:
#   1. .venv, a project-local Python environment with the packages of requirements.txt;
#   2. the kernel, `cargo build --release -p multiproc-kernel`;
#   3. its kernel spec `rust-multiproc`, installed into .venv (Jupyter started from .venv finds it);
#   4. a pre-build of the multiproc library for the kernel, so no one waits for it in class.
# Safe to run again: each step checks its result first and changes nothing that is already right.
# Usage: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
KERNEL=$ROOT/target/release/multiproc-kernel
SPEC=$VENV/share/jupyter/kernels/rust-multiproc
start=$(date +%s.%N)

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found. $2"; }

need cargo "Install Rust (rustup), then run scripts/setup.sh again."
need python3 "Install Python 3.9 or newer, then run scripts/setup.sh again."

# 1. Python environment. A venv whose python no longer runs (Python upgraded or moved) is remade.
if ! "$VENV/bin/python" -c '' >/dev/null 2>&1; then
    say "creating .venv"
    rm -rf "$VENV"
    python3 -m venv "$VENV" ||
        die "python3 -m venv failed. On Debian/Ubuntu: apt-get install python3-venv; then run this again."
fi
req_hash=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$req_hash" ]; then
    say "installing Python packages from requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt ||
        die "pip could not install requirements.txt (see above); check the network or the pins."
    echo "$req_hash" > "$VENV/.requirements.sha256"
else
    say ".venv up to date"
fi

# 2. The kernel binary (cargo does nothing when it is up to date).
cargo build --release --quiet -p multiproc-kernel || die "the kernel did not build (see above)."

# 3. Kernel spec into .venv (writes only files that differ).
"$KERNEL" install --prefix "$VENV" | sed 's/^/setup: /'

# 4. Pre-build the library in the kernel's first work slot, unless nothing changed since the last
#    one. The stamp lives in the work directory, so a deleted cache means a new pre-build.
work=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["env"]["MULTIPROC_KERNEL_WORK_DIR"])' "$SPEC/kernel.json")
fingerprint=$(
    {
        cat "$SPEC/kernel.json" "$SPEC"/evcxr/* Cargo.toml Cargo.lock
        find src -type f -print0 | sort -z | xargs -0 cat
        stat -c '%s %Y' "$KERNEL"
        rustc --version
    } | sha256sum | cut -d' ' -f1
)
if [ -d "$work/slot-0/target" ] && [ "$(cat "$work/prebuild.stamp" 2>/dev/null)" = "$fingerprint" ]; then
    say "library pre-built for the kernel, up to date"
else
    say "pre-building the library for the kernel (a minute on a new machine, seconds after that)"
    "$KERNEL" prebuild --prefix "$VENV" 2>&1 | sed 's/^/setup: /'
    [ "${PIPESTATUS[0]}" -eq 0 ] || die "the pre-build failed (the compiler's errors are above)."
    echo "$fingerprint" > "$work/prebuild.stamp"
fi

say "done in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)") s"
