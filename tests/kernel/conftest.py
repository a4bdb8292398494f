"""Fixtures that drive the real `multiproc-kernel` over the Jupyter protocol (jupyter_client).

The kernel is installed into a temporary Jupyter path (a prefix under pytest's tmp dir, found
through JUPYTER_PATH), so the tests never touch the user's Jupyter setup and always exercise the
config that `install` ships. Every wait has a time limit.
"""

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import sys

import pytest
from jupyter_client.manager import KernelManager

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jupyter_env import private_jupyter  # noqa: E402  (tests/jupyter_env.py)

ROOT = Path(__file__).resolve().parents[2]
KERNEL_BIN = ROOT / "target" / "release" / "multiproc-kernel"
SPEC_NAME = "rust-multiproc"

DECOY_SPEC = '{"argv": ["somebody-elses-rust-kernel", "{connection_file}"], "display_name": "Mine", "language": "rust"}\n'

# A kernel start compiles the prelude before it answers kernel_info (about 6 s warm, a minute cold).
START_TIMEOUT = 180
# One cell: compile (a few seconds) plus run.
CELL_TIMEOUT = 90


@dataclass
class CellResult:
    """What one execute_request produced, in arrival order."""

    status: str = ""  # execute_reply status: ok / error / aborted
    stdout: str = ""
    stderr: str = ""
    results: list = field(default_factory=list)  # text/plain of execute_result / display_data
    errors: list = field(default_factory=list)  # (ename, evalue, traceback text)
    first_output_at: float | None = None  # time.monotonic() of the first output message

    @property
    def error_text(self) -> str:
        return "\n".join(f"{n}: {v}\n{tb}" for n, v, tb in self.errors)

    def everything(self) -> str:
        return "\n".join([self.stdout, self.stderr, *self.results, self.error_text])


def install_kernel(prefix: Path, *extra: str) -> Path:
    """Runs `multiproc-kernel install --prefix PREFIX`; returns the kernel spec directory."""
    if not KERNEL_BIN.exists():
        pytest.fail(f"{KERNEL_BIN} is missing: run scripts/setup.sh first")
    subprocess.run(
        [str(KERNEL_BIN), "install", "--prefix", str(prefix), *extra],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return prefix / "share" / "jupyter" / "kernels" / SPEC_NAME


class Kernel:
    """A started kernel and a client on its channels."""

    def __init__(self, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.km = KernelManager(kernel_name=SPEC_NAME)
        self.started_at = time.monotonic()
        self.km.start_kernel(stdout=self._log, stderr=subprocess.STDOUT)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=START_TIMEOUT)
        except Exception as error:
            self.shutdown()
            raise RuntimeError(f"kernel did not become ready ({error}); its log:\n{self.log()}") from error

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def execute(self, code: str, timeout: float = CELL_TIMEOUT) -> CellResult:
        """Runs one cell and collects its outputs until the kernel is idle again."""
        msg_id = self.kc.execute(code)
        return self.collect(msg_id, timeout)

    def collect(self, msg_id: str, timeout: float = CELL_TIMEOUT, until=None) -> CellResult:
        """Reads iopub messages of `msg_id` until idle (or until `until(result)` is true, then
        returns early without waiting for the reply)."""
        deadline = time.monotonic() + timeout
        result = CellResult()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"cell not idle within {timeout} s; so far: {result}\nkernel log:\n{self.log()}")
            try:
                msg = self.kc.get_iopub_msg(timeout=remaining)
            except Exception:  # queue.Empty
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind in ("stream", "execute_result", "display_data", "error") and result.first_output_at is None:
                result.first_output_at = time.monotonic()
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind in ("execute_result", "display_data"):
                result.results.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                result.errors.append((content["ename"], content["evalue"], "\n".join(content["traceback"])))
            elif kind == "status" and content["execution_state"] == "idle":
                break
            if until is not None and until(result):
                return result
        result.status = self.reply_status(msg_id, max(1.0, deadline - time.monotonic()))
        return result

    def reply_status(self, msg_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            except Exception:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]["status"]
        raise TimeoutError(f"no execute_reply within {timeout} s")

    def shutdown(self):
        try:
            self.kc.stop_channels()
        finally:
            try:
                self.km.shutdown_kernel(now=False)
            except Exception:
                self.km.shutdown_kernel(now=True)
            self._log.close()


@pytest.fixture(scope="session")
def jupyter_path(tmp_path_factory):
    """A temporary Jupyter data tree holding only our kernel spec, as the one Jupyter searches."""
    base = tmp_path_factory.mktemp("jupyter")
    prefix = base / "prefix"
    spec_dir = install_kernel(prefix)
    # Somebody's own kernel spec named `rust` (not evcxr's: no version.txt). evcxr_jupyter would
    # rewrite it on start; test_cells checks that ours leaves it alone.
    decoy = prefix / "share" / "jupyter" / "kernels" / "rust"
    decoy.mkdir(parents=True)
    (decoy / "kernel.json").write_text(DECOY_SPEC)
    with private_jupyter(base, prefix):
        yield spec_dir

def start_kernel(log_dir: Path, name: str) -> Kernel:
    return Kernel(log_dir / f"{name}.log")


def pid_gone(pid: int) -> bool:
    """True once `pid` has exited (a zombie waiting to be reaped counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    match = re.search(r"^State:\s+(\S)", status, re.M)
    return bool(match and match.group(1) in ("Z", "X"))


# Measured numbers (seconds), printed at the end of the run.
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("kernel timings")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.2f} s")
