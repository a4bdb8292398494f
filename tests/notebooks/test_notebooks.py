"""Runs every notebook of notebooks/ top to bottom through the real kernel and checks what it shows.

Each notebook runs once, in one kernel, as a student would run it, with two cells appended: the
reference solution of its exercise (tests/notebooks/solutions/) and a second copy of its check
cell. So one run shows both that the check cell says "Not yet" for the untouched exercise and
that it says "Check passed" for a correct answer.

Needs the project's .venv (nbclient, nbformat, pytest) and the kernel binary: scripts/setup.sh.
Like the kernel tests (tests/kernel), the kernel spec is installed into a temporary Jupyter path
found through JUPYTER_PATH, so the user's Jupyter setup is never touched. Every wait has a time
limit. There is deliberately no conftest.py here: tests/kernel's test modules import theirs as
`conftest`, and a second one would shadow it when both folders run in one pytest session.
"""

import copy
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jupyter_env import private_jupyter  # noqa: E402  (tests/jupyter_env.py)

ROOT = Path(__file__).resolve().parents[2]
KERNEL_BIN = ROOT / "target" / "release" / "multiproc-kernel"
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"

# Starting a kernel compiles the prelude (seconds when the library is pre-built, a few minutes
# on a machine that never built it).
STARTUP_TIMEOUT = 600
# One cell: compiling it (a few seconds) plus running it (the slowest cell, Q1's timings, a few s).
CELL_TIMEOUT = 180

ALL = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
COURSE = [name for name in ALL if not name.startswith("00_")]


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def tagged(nb, tag):
    cells = [i for i, c in enumerate(nb.cells) if tag in tags(c)]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def stdout_of(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")


def plain_of(cell):
    return [o["data"]["text/plain"] for o in cell.get("outputs", []) if o.get("output_type") in ("execute_result", "display_data") and "text/plain" in o.get("data", {})]


def html_of(cell):
    return [o["data"]["text/html"] for o in cell.get("outputs", []) if o.get("output_type") in ("execute_result", "display_data") and "text/html" in o.get("data", {})]


def errors_of(nb):
    found = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                found.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
    return found


def cell_with(nb, text):
    """The executed code cell whose source contains `text` (exactly one)."""
    cells = [c for c in nb.cells if c.cell_type == "code" and text in c.source]
    assert len(cells) == 1, f"expected one code cell containing {text!r}, found {len(cells)}"
    return cells[0]


_RUNS = {}


def run(name, scratch, timings):
    """Executes notebook `name` (with the solution appended, for the course notebooks) once per
    session; returns the executed notebook. The executed copy is saved next to the kernel's scratch
    files for inspection."""
    if name in _RUNS:
        if isinstance(_RUNS[name], Exception):
            pytest.fail(f"{name} failed to run earlier in this session: {_RUNS[name]}")
        return _RUNS[name]
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    if name in COURSE:
        solution = (SOLUTIONS / f"{name}.rs").read_text()
        check = copy.deepcopy(nb.cells[tagged(nb, "check")])
        check.metadata["tags"] = ["check-solution"]
        check.id = "check-solution"
        nb.cells.append(nbformat.v4.new_code_cell(solution, id="solution", metadata={"tags": ["solution"]}))
        nb.cells.append(check)
    client = NotebookClient(
        nb,
        kernel_name="rust-multiproc",
        timeout=CELL_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
        allow_errors=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.monotonic()
    try:
        client.execute()
    except Exception as error:  # a cell timeout or a dead kernel: report it once, fail fast after
        _RUNS[name] = error
        raise
    finally:
        timings[name] = time.monotonic() - started
        nbformat.write(nb, scratch / f"{name}.executed.ipynb")
    _RUNS[name] = nb
    return nb


@pytest.fixture(scope="session")
def notebook_kernel(tmp_path_factory):
    """Installs `rust-multiproc` into a temporary Jupyter path; yields the scratch directory."""
    if not KERNEL_BIN.exists():
        pytest.fail(f"{KERNEL_BIN} is missing: run scripts/setup.sh first")
    base = tmp_path_factory.mktemp("notebook-jupyter")
    prefix = base / "prefix"
    subprocess.run([str(KERNEL_BIN), "install", "--prefix", str(prefix)], check=True, capture_output=True, text=True, timeout=60)
    with private_jupyter(base, prefix):
        yield base

@pytest.fixture(scope="session")
def runner(notebook_kernel, pytestconfig):
    """run(name) executes a notebook once per session and returns it executed. At the end of
    the session, each notebook's run time is printed."""
    timings = {}
    yield lambda name: run(name, notebook_kernel, timings)
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if reporter and capture and timings:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            reporter.write_sep("=", "notebook run times")
            for name, seconds in timings.items():
                reporter.write_line(f"{name}: {seconds:.1f} s")


# ---------------------------------------------------------------------------------------------
# The committed files: paired, clean, pointing at our kernel.


def test_ipynb_files_match_their_rs_sources():
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "notebooks" / "pair.py"), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", ALL)
def test_committed_without_outputs_and_for_our_kernel(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "rust-multiproc"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has outputs committed"


def test_numbered_01_to_06_plus_index():
    assert [n[:2] for n in ALL] == ["00", "01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("name", COURSE)
def test_opens_with_the_seed_question_and_ends_with_an_exercise_and_check(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    number = int(name[:2])
    seed = "".join(p.read_text() for p in sorted((ROOT.parent / "shared" / "seed").glob("*.txt"))) if (ROOT.parent / "shared" / "seed").is_dir() else ""
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# Q{number}. ")
    question = first.source.splitlines()[0][2:]
    if seed:
        assert " ".join(question.split()) in " ".join(seed.split()), f"{question!r} is not the seed's wording"
    assert tags(nb.cells[-1]) == ["check"] and tags(nb.cells[-2]) == ["exercise"]
    assert (SOLUTIONS / f"{name}.rs").exists()


# ---------------------------------------------------------------------------------------------
# Running them.


@pytest.mark.parametrize("name", COURSE)
def test_exercise_check_says_not_yet_then_passes_with_the_solution(name, runner):
    nb = runner(name)
    assert errors_of(nb) == []
    untouched = stdout_of(nb.cells[tagged(nb, "check")])
    solved = stdout_of(nb.cells[tagged(nb, "check-solution")])
    assert untouched.startswith("Not yet"), untouched
    assert solved.startswith("Check passed"), solved


def test_00_index_runs(runner):
    nb = runner("00_index")
    assert errors_of(nb) == []
    assert "Ready: " in stdout_of(cell_with(nb, "Ready: "))


def test_01_speedup_table_isolation_and_crash(runner):
    nb = runner("01_what_is_multiprocessing")
    assert errors_of(nb) == []
    table_cell = cell_with(nb, "SpeedupTable::new")
    [text] = plain_of(table_cell)
    lines = text.strip().splitlines()
    assert lines[0].split() == ["workers", "time", "ms", "speedup"]
    assert lines[1].split()[0] == "sequential" and lines[1].endswith("1.00x")
    workers = [int(line.split()[0]) for line in lines[2:]]
    assert workers == list(range(1, len(workers) + 1)) and len(workers) >= 1
    for line in lines[1:]:
        assert re.fullmatch(r"\s*\S+\s+\d+\.\d\s+\d+\.\d\dx", line), line
    assert html_of(table_cell) and "speedup" in html_of(table_cell)[0]

    threads = stdout_of(cell_with(nb, "count_on_threads"))
    assert re.search(r"\d+ threads: [\d.]+ ms, speedup [\d.]+x over sequential", threads)

    shared = stdout_of(cell_with(nb, "for_child"))
    assert "after the thread:  the parent's list is [\"Ada\", \"from a thread\"]" in shared
    assert "inside the child:  the list was [\"Ada\", \"from a thread\", \"from a process\"]" in shared
    assert "after the process: the parent's list is [\"Ada\", \"from a thread\"]" in shared

    crash = stdout_of(cell_with(nb, "std::process::abort()"))
    assert "the child crashed:" in crash and "SIGABRT" in crash
    assert "its exit code: Some(-6)" in crash
    assert "is still running" in crash

    other = stdout_of(cell_with(nb, "Command::new"))
    assert "I am a separate program (sh), pid" in other


def test_02_counter_ids_and_start_cost(runner):
    nb = runner("02_processes_vs_threads")
    assert errors_of(nb) == []
    counter = stdout_of(cell_with(nb, "add_many"))
    assert "threads:   the parent's counter is now 40000" in counter
    assert "each child ended with [10000, 10000, 10000, 10000] on its own copy" in counter
    assert "processes: the parent's counter is still 0" in counter

    ids = stdout_of(cell_with(nb, "fn whoami"))
    thread_pids = set(re.findall(r"thread \d:\s+pid\s+(\d+)", ids))
    process_pids = set(re.findall(r"process \d:\s+pid\s+(\d+)", ids))
    [own] = re.findall(r"the notebook itself:\s+pid\s+(\d+)", ids)
    assert thread_pids == {own}
    assert len(process_pids) == 3 and own not in process_pids

    cost = stdout_of(cell_with(nb, "median_of"))
    assert re.search(r"start \+ join one thread:\s+[\d.]+ µs", cost)
    assert re.search(r"start \+ join one process:\s+[\d.]+ µs", cost)
    assert "times as much to start" in cost
    assert plain_of(cell_with(nb, "fn whoami")) == [], "a cell ending in a loop must not display ()"


def test_03_alice_then_main(runner):
    nb = runner("03_create_a_process")
    assert errors_of(nb) == []
    out = stdout_of(cell_with(nb, 'worker_function("Alice")'))
    assert out.splitlines() == ["Hello, Alice!", "Main process continues..."]
    assert "exit code Some(0)" in stdout_of(cell_with(nb, "process.exitcode()"))


def test_04_workers_reused_pool_faster_and_timeline(runner):
    nb = runner("04_what_is_a_pool")
    assert errors_of(nb) == []
    reuse = stdout_of(cell_with(nb, "which_worker"))
    ran = [int(n) for n in re.findall(r"worker \d+ ran (\d+) of the 12 tasks", reuse)]
    assert 1 <= len(ran) <= 2 and sum(ran) == 12

    versus = stdout_of(cell_with(nb, "small_task"))
    assert re.search(r"pool of \d+ workers:\s+[\d.]+ ms for 200 tasks", versus)
    assert re.search(r"one process per task:\s+[\d.]+ ms for 200 tasks", versus)

    chart = cell_with(nb, ".timeline(true)")
    assert html_of(chart) and html_of(chart)[0].startswith("<div")
    assert "worker pid" in plain_of(chart)[0]
    assert "12 tasks on 2 workers" in stdout_of(cell_with(nb, "let timeline = pool.timeline();"))


def test_05_four_steps_and_a_panicking_task(runner):
    nb = runner("05_create_a_pool")
    assert errors_of(nb) == []
    assert "4 workers ready: [" in stdout_of(cell_with(nb, "Pool::new(4)"))
    assert "[1, 8, 27, 64, 125, 216, 343, 512, 729, 1000]" in stdout_of(cell_with(nb, "pool.map(cube, 1..=10)"))
    assert "cube(7) computed on a worker: 343" in stdout_of(cell_with(nb, "pool.apply(cube, (7,))"))
    timeout = stdout_of(cell_with(nb, "slow_cube, (3, 300)"))
    assert "after 10 ms: not ready yet" in timeout and "after waiting longer: 27" in timeout
    assert "[1, 8, 27, 64] in" in stdout_of(cell_with(nb, "(x, 200)"))
    arrived = re.findall(r"cube\((\d)\) = (\d+)", stdout_of(cell_with(nb, "imap_unordered")))
    assert sorted(arrived) == [("1", "1"), ("2", "8"), ("3", "27"), ("4", "64")]
    panics = stdout_of(cell_with(nb, "fn picky_cube"))
    assert "apply failed:" in panics and "I refuse to cube 3" in panics
    assert "map failed as a whole:" in panics
    assert "imap item 3: error: I refuse to cube 3" in panics and "imap item 5: 125" in panics
    assert "the pool still works: [1, 8, 27]" in panics
    assert "pool closed and joined" in stdout_of(cell_with(nb, "pool.close()?;\npool.join()?;"))


def test_06_four_numbers_then_finished(runner):
    nb = runner("06_four_processes")
    assert errors_of(nb) == []
    lines = stdout_of(cell_with(nb, "print_number(i)")).splitlines()
    assert sorted(lines[:4]) == ["Process 1: 1", "Process 2: 2", "Process 3: 3", "Process 4: 4"]
    assert lines[4:] == ["All processes have finished."]
    rounds = re.findall(r"round \d: finished in the order \[(.*)\]", stdout_of(cell_with(nb, "work_then_report")))
    assert len(rounds) == 5
    for order in rounds:
        assert sorted(order.split(", ")) == ["1", "2", "3", "4"]
