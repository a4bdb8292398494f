#!/usr/bin/env bash
# Side-by-side benchmark: multiproc vs Python's multiprocessing (fork, spawn) vs raw fork + pipe.
# Prints a table of medians and ratios and the targets met, writes target/bench/latest.json.
# A benchmark reports and never fails: it exits 0 whatever the numbers (only a build error fails).
# Options: --quick (each workload once), --only GROUP,..., --no-python, --json PATH, --help.
set -euo pipefail
cd "$(dirname "$0")"
exec cargo bench --bench compare -- "$@"
