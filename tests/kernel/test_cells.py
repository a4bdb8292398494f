"""Cells that fork, run through the real kernel: output order, panics, bad output, interrupt.

One kernel serves the whole module (a start costs seconds); the interrupt test comes last because
an interrupt restarts the code runtime and drops the variables.
"""

import os
import re
import time

import pytest

from conftest import DECOY_SPEC, TIMINGS, pid_gone, start_kernel

# The target on a warm machine is 10 s; this limit only catches a start gone badly wrong.
STARTUP_LIMIT = 30


@pytest.fixture(scope="module")
def kernel(jupyter_path, tmp_path_factory):
    k = start_kernel(tmp_path_factory.mktemp("logs"), "cells")
    yield k
    k.shutdown()


def ok(result):
    assert result.status == "ok", f"cell failed: {result}"
    return result


def test_first_cell_has_the_prelude_and_starts_fast(kernel):
    # cpu_count comes from the shipped prelude (`use multiproc::prelude::*;`).
    r = ok(kernel.execute('println!("first output: {} CPUs", cpu_count());'))
    assert re.search(r"first output: \d+ CPUs", r.stdout), r
    startup = r.first_output_at - kernel.started_at
    TIMINGS["kernel start -> first cell output"] = startup
    assert startup < STARTUP_LIMIT, f"first output {startup:.1f} s after start"


def test_jupyter_path_is_the_users_and_a_foreign_rust_spec_is_left_alone(kernel, jupyter_path):
    data_dir = jupyter_path.parents[1]  # PREFIX/share/jupyter
    assert (data_dir / "kernels" / "rust" / "kernel.json").read_text() == DECOY_SPEC
    assert not (data_dir / "kernels" / "rust" / "version.txt").exists()
    r = ok(kernel.execute('println!("{}", std::env::var("JUPYTER_PATH").unwrap());'))
    assert r.stdout.strip() == os.environ["JUPYTER_PATH"], r


def test_back_to_back_cells_keep_their_own_stderr(kernel):
    # As "Run All" does: every request is queued before the first one ends. The kernel's code
    # runtime (kernel/src/runtime.rs) holds each cell's end until its stderr has been passed on.
    ids = [kernel.kc.execute(f'eprintln!("err{i}"); println!("out{i}");') for i in range(3)]
    for i, msg_id in enumerate(ids):
        r = ok(kernel.collect(msg_id))
        assert (r.stdout, r.stderr) == (f"out{i}\n", f"err{i}\n"), r


def test_child_line_comes_before_the_parents_next_line(kernel):
    r = ok(
        kernel.execute(
            """
let mut p = Process::new(|| println!("Hello, Alice!"));
p.start().unwrap();
p.join().unwrap();
println!("Main process continues...");
let h = spawn(|| println!("spawned child speaks")).unwrap();
h.join().unwrap();
println!("parent speaks after join");
"""
        )
    )
    lines = r.stdout.splitlines()
    assert lines.index("Hello, Alice!") < lines.index("Main process continues..."), r.stdout
    assert lines.index("spawned child speaks") < lines.index("parent speaks after join"), r.stdout


def test_panicking_child_does_not_disturb_later_cells(kernel):
    r = ok(
        kernel.execute(
            """
let kept = 41;
let err = spawn(|| -> i32 { panic!("child boom") }).unwrap().join().unwrap_err();
println!("join error: {err}");
"""
        )
    )
    assert "child boom" in r.stdout, r
    # The child's own one-line report is on stderr, in this cell (not the next one).
    assert "child boom" in r.stderr, r
    # The runtime kept its state: the variable from the previous cell is still there.
    r = ok(kernel.execute('println!("kept + 1 = {}", kept + 1);'))
    assert r.stdout.strip() == "kept + 1 = 42", r


def test_child_writing_invalid_utf8_does_not_break_later_cells(kernel):
    r = ok(
        kernel.execute(
            r"""
use std::io::Write;
let h = spawn(|| {
    std::io::stdout().write_all(b"bad \xff\xfe out\n").unwrap();
    std::io::stderr().write_all(b"bad \xc3\x28 err\n").unwrap();
    println!("child valid line");
    print!("child tail without newline");
}).unwrap();
h.join().unwrap();
println!("parent after invalid utf8");
"""
        )
    )
    assert "parent after invalid utf8" in r.stdout, r
    assert "child valid line" in r.stdout, r
    # Invalid bytes arrive as U+FFFD, on the stream they were written to, in this cell.
    assert "bad \ufffd\ufffd out" in r.stdout, r
    assert "bad \ufffd( err" in r.stderr, r
    assert "child tail without newline\n" in r.stdout, r
    r = ok(kernel.execute('println!("next cell ok"); eprintln!("stderr still works");'))
    assert r.stdout.strip() == "next cell ok", r
    assert "stderr still works" in r.stderr, r


def test_child_printing_a_control_line_does_not_break_later_cells(kernel):
    r = ok(
        kernel.execute(
            """
let h = spawn(|| {
    println!("EVCXR_EXECUTION_COMPLETE");
    println!("EVCXR_PANIC_NOTIFICATION");
    println!("EVCXR_END_CONTENT");
    println!("child after fake markers");
}).unwrap();
h.join().unwrap();
println!("parent after control line");
"""
        )
    )
    assert "child after fake markers" in r.stdout, r
    assert "parent after control line" in r.stdout, r
    # Not shifted: the next cell shows its own output, and only that.
    r = ok(kernel.execute('println!("cell after control line");'))
    assert r.stdout.strip() == "cell after control line", r


def test_child_printing_a_content_marker_does_not_hang_the_cell(kernel):
    msg_id = kernel.kc.execute(
        """
let h = spawn(|| println!("EVCXR_BEGIN_CONTENT text/plain")).unwrap();
h.join().unwrap();
println!("parent after content marker");
"""
    )
    try:
        r = kernel.collect(msg_id, timeout=12)
    except TimeoutError:
        # The kernel is stuck in the content block: an interrupt restarts the code runtime.
        kernel.km.interrupt_kernel()
        kernel.collect(msg_id, timeout=30)
        raise
    assert "parent after content marker" in r.stdout, r


def test_function_defined_after_the_pool_was_created_runs_in_it(kernel):
    # Every cell is new code that workers forked earlier do not have (issue 3).
    ok(kernel.execute("let pool = Pool::new(2).unwrap();"))
    r = ok(
        kernel.execute(
            """
fn triple(x: u64) -> (u64, u32) { (x * 3, std::process::id()) }
let out = pool.map(triple, 1..=4u64).unwrap();
let parent = std::process::id();
println!("mapped: {:?}", out.iter().map(|r| r.0).collect::<Vec<_>>());
println!("ran in workers: {}", out.iter().all(|r| r.1 != parent));
"""
        )
    )
    assert "mapped: [3, 6, 9, 12]" in r.stdout, r
    assert "ran in workers: true" in r.stdout, r


def test_interrupt_kills_the_cells_children_and_the_kernel_recovers(kernel):
    # The pool of the previous test is still alive: its workers are children of the runtime too.
    msg_id = kernel.kc.execute(
        """
let h = spawn(|| std::thread::sleep(std::time::Duration::from_secs(120))).unwrap();
println!("child pid {}", h.pid());
let pids: Vec<String> = active_children().iter().map(|c| c.pid().to_string()).collect();
println!("all children {}", pids.join(","));
let _ = h.join();
println!("joined: the interrupt did not stop the cell");
"""
    )
    seen = kernel.collect(msg_id, until=lambda r: re.search(r"all children [\d,]+\n", r.stdout))
    child = int(re.search(r"child pid (\d+)", seen.stdout).group(1))
    children = [int(p) for p in re.search(r"all children ([\d,]+)", seen.stdout).group(1).split(",")]
    assert child in children and len(children) >= 3, seen  # the sleeper and two pool workers
    assert not any(pid_gone(p) for p in children), "the children should still be alive"

    sent = time.monotonic()
    kernel.km.interrupt_kernel()  # interrupt_mode "message": an interrupt_request on the control channel
    while not all(pid_gone(p) for p in children) and time.monotonic() - sent < 2.0:
        time.sleep(0.02)
    gone_after = time.monotonic() - sent
    alive = [p for p in children if not pid_gone(p)]
    assert not alive, f"children {alive} still alive 2 s after the interrupt"
    TIMINGS["interrupt -> children gone"] = gone_after

    rest = kernel.collect(msg_id, timeout=30)
    assert "joined" not in rest.stdout, rest
    r = ok(kernel.execute('println!("after interrupt: {} CPUs", cpu_count());'))
    assert re.search(r"after interrupt: \d+ CPUs", r.stdout), r
