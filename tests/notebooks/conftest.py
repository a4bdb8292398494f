"""Fixtures for running the course notebooks through the real `multiproc-kernel`.

Like the kernel tests (tests/kernel), the kernel spec is installed into a temporary Jupyter path
(found through JUPYTER_PATH), so the user's Jupyter setup is never touched and the config that
`install` ships is the one exercised. Every wait has a time limit.
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL_BIN = ROOT / "target" / "release" / "multiproc-kernel"

# Seconds each notebook took, printed at the end of the run.
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="session")
def notebook_kernel(tmp_path_factory):
    """Installs `rust-multiproc` into a temporary Jupyter path; yields the scratch directory."""
    if not KERNEL_BIN.exists():
        pytest.fail(f"{KERNEL_BIN} is missing: run scripts/setup.sh first")
    base = tmp_path_factory.mktemp("notebook-jupyter")
    prefix = base / "prefix"
    subprocess.run(
        [str(KERNEL_BIN), "install", "--prefix", str(prefix)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    names = ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR")
    saved = {k: os.environ.get(k) for k in names}
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ["JUPYTER_DATA_DIR"] = str(base / "data")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    os.environ["JUPYTER_CONFIG_DIR"] = str(base / "config")
    yield base
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("notebook run times")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
