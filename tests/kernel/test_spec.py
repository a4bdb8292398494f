"""`multiproc-kernel install`: the kernel spec, its logos and config, and what a second run changes."""

import json
import os
import struct
import subprocess
import xml.etree.ElementTree as ET

from jupyter_client.kernelspec import KernelSpecManager

from conftest import KERNEL_BIN, ROOT, SPEC_NAME, install_kernel


def run(*args, env=None):
    return subprocess.run([str(KERNEL_BIN), *args], capture_output=True, text=True, timeout=60, env=env)


def test_kernel_json(tmp_path):
    spec = json.loads((install_kernel(tmp_path) / "kernel.json").read_text())
    assert spec["display_name"] == "Rust (multiproc)"
    assert spec["language"] == "rust"
    assert spec["interrupt_mode"] == "message"
    assert spec["argv"][1:] == ["--control_file", "{connection_file}"]
    assert os.path.isabs(spec["argv"][0]) and os.access(spec["argv"][0], os.X_OK)
    config_dir = spec["env"]["EVCXR_CONFIG_DIR"]
    assert config_dir == str(tmp_path / "share/jupyter/kernels" / SPEC_NAME / "evcxr")


def test_shipped_config(tmp_path):
    evcxr = install_kernel(tmp_path) / "evcxr"
    init = (evcxr / "init.evcxr").read_text()
    dep = f':dep multiproc = {{ path = "{ROOT}" }}'
    assert dep in init, init
    assert init.index(":opt 0") < init.index(dep), "opt level must be set before the dependency"
    assert all(line.startswith(":") for line in init.splitlines()), "init.evcxr must compile nothing"
    assert (evcxr / "prelude.rs").read_text().strip() == "use multiproc::prelude::*;"


def test_logos(tmp_path):
    spec = install_kernel(tmp_path)
    for size in (32, 64):
        png = (spec / f"logo-{size}x{size}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
        assert struct.unpack(">II", png[16:24]) == (size, size)
    svg = ET.parse(spec / "logo-svg.svg").getroot()
    assert svg.tag.endswith("svg")


def test_jupyter_finds_it(tmp_path, monkeypatch):
    install_kernel(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "share/jupyter"))
    spec = KernelSpecManager().get_kernel_spec(SPEC_NAME)
    assert spec.display_name == "Rust (multiproc)"
    assert spec.interrupt_mode == "message"


def test_second_install_changes_nothing(tmp_path):
    spec = install_kernel(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in spec.rglob("*")}
    again = run("install", "--prefix", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert "already up to date" in again.stdout and "wrote" not in again.stdout, again.stdout
    assert {p: p.stat().st_mtime_ns for p in spec.rglob("*")} == before


def test_user_install_and_uninstall(tmp_path):
    env = {**os.environ, "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    assert run("install", "--user", env=env).returncode == 0
    spec = tmp_path / "data" / "kernels" / SPEC_NAME
    assert (spec / "kernel.json").is_file()
    gone = run("install", "--uninstall", "--user", env=env)
    assert gone.returncode == 0 and not spec.exists(), gone.stdout + gone.stderr
    again = run("install", "--uninstall", "--user", env=env)
    assert again.returncode == 0 and "Nothing to remove" in again.stdout


def test_bad_usage_says_what_to_do(tmp_path):
    for args in (["install", "--prefix"], ["install", "--user", "--prefix", str(tmp_path)], ["frobnicate"]):
        r = run(*args)
        assert r.returncode == 1, args
        assert "multiproc-kernel help" in r.stderr, r.stderr
    r = run("install", "--prefix", str(tmp_path), "--library", str(tmp_path))
    assert r.returncode == 1 and "Pass --library" in r.stderr, r.stderr
    r = run("prebuild", "--prefix", str(tmp_path / "nowhere"))
    assert r.returncode == 1 and "Install it first" in r.stderr, r.stderr
