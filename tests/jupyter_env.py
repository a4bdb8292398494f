"""Shared by the kernel and notebook tests: a Jupyter that sees only a temporary data tree."""

import os
from contextlib import contextmanager
from pathlib import Path

JUPYTER_VARS = ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_DIR")


@contextmanager
def private_jupyter(base: Path, prefix: Path):
    """Points Jupyter at `prefix`'s kernel specs and at data, runtime and config directories
    under `base`, so the tests neither see nor touch the user's own; restores the environment."""
    saved = {k: os.environ.get(k) for k in JUPYTER_VARS}
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ["JUPYTER_DATA_DIR"] = str(base / "data")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(base / "runtime")
    os.environ["JUPYTER_CONFIG_DIR"] = str(base / "config")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
