"""A library that does not compile: the kernel stays up and says why, in the cell and on the console.

The kernel here is installed from a copy of the repository with a type error in src/lib.rs. It
shares the work directory of the real install, so the library's dependencies are already built
and only the broken crate is compiled.
"""

import json
import os
import shutil

import pytest

from conftest import ROOT, install_kernel, start_kernel

BROKEN_ITEM = 'pub fn deliberately_broken() -> u32 { "not a number" }\n'


@pytest.fixture(scope="module")
def broken_kernel(jupyter_path, tmp_path_factory):
    base = tmp_path_factory.mktemp("broken")
    library = base / "multiproc"
    library.mkdir()
    for name in ("Cargo.toml", "Cargo.lock"):
        shutil.copy(ROOT / name, library / name)
    shutil.copytree(ROOT / "src", library / "src")
    with open(library / "src" / "lib.rs", "a") as f:
        f.write(BROKEN_ITEM)

    work_dir = json.loads((jupyter_path / "kernel.json").read_text())["env"]["MULTIPROC_KERNEL_WORK_DIR"]
    install_kernel(base / "prefix", "--library", str(library), "--work-dir", work_dir)
    saved = os.environ["JUPYTER_PATH"]
    os.environ["JUPYTER_PATH"] = str(base / "prefix" / "share" / "jupyter")
    try:
        k = start_kernel(base, "broken")
    finally:
        os.environ["JUPYTER_PATH"] = saved
    yield k
    k.shutdown()


def test_each_cell_shows_why_the_library_is_missing(broken_kernel):
    pid = broken_kernel.km.provisioner.pid
    for _ in range(2):
        r = broken_kernel.execute('println!("this cell cannot run");')
        assert r.status == "error", r
        text = r.everything()
        assert "could not be loaded when this kernel started" in text, text
        assert "mismatched types" in text and "src/lib.rs" in text, text  # the compiler's own error
        assert "restart the kernel" in text, text
        assert "this cell cannot run" not in r.stdout
    # The same process all along: no silent death and restart.
    assert broken_kernel.km.is_alive()
    assert broken_kernel.km.provisioner.pid == pid


def test_the_console_says_why_too(broken_kernel):
    log = broken_kernel.log()
    assert log.count("the library did not load") == 1, log
    assert "mismatched types" in log, log
