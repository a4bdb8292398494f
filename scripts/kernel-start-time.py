"""Measures kernel start -> first cell output for the kernel installed in .venv (run scripts/setup.sh
first). Starts the real kernel N times through jupyter_client, runs one cell that uses the prelude,
and prints each time and the median. Usage: .venv/bin/python scripts/kernel-start-time.py [N]
"""

import statistics
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager

CELL = 'println!("ready: {} CPUs", cpu_count());'


def one_start() -> float:
    km = KernelManager(kernel_name="rust-multiproc")
    start = time.monotonic()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=300)
        msg_id = kc.execute(CELL)
        deadline = start + 300
        while time.monotonic() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
                return time.monotonic() - start
        raise TimeoutError("no output within 300 s")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    times = []
    for i in range(n):
        times.append(one_start())
        print(f"start {i + 1}: {times[-1]:.1f} s", flush=True)
    print(f"kernel start -> first cell output: median {statistics.median(times):.1f} s "
          f"(min {min(times):.1f}, max {max(times):.1f}, n={n})")


if __name__ == "__main__":
    main()
