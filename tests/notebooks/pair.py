#!/usr/bin/env python3
"""Writes notebooks/*.ipynb from their jupytext percent-format sources notebooks/*.rs.

The .rs file is the source we edit and review; the .ipynb is generated from it, without outputs,
so the two never drift apart. Only the standard library is used, so this runs anywhere.

    python3 tests/notebooks/pair.py          # rewrite every .ipynb from its .rs
    python3 tests/notebooks/pair.py --check  # exit 1 if any .ipynb differs from its .rs

The format is jupytext's "percent" format for Rust, so `jupytext --sync` reads the same cells:
a `// ---` YAML header in comments, then cells that start with `// %%` (code) or
`// %% [markdown]` (markdown, every line commented with `// `). Cell metadata such as
`tags=["exercise"]` may follow the marker.
"""
import json
import re
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

KERNELSPEC = {"display_name": "Rust (multiproc)", "language": "rust", "name": "rust-multiproc"}
LANGUAGE_INFO = {
    "codemirror_mode": "rust",
    "file_extension": ".rs",
    "mimetype": "text/rust",
    "name": "Rust",
    "pygment_lexer": "rust",
}
MARKER = re.compile(r"^// %%(?P<rest>.*)$")


def parse_marker(rest):
    """Returns (cell_type, metadata) for what follows `// %%` on a cell's first line."""
    rest = rest.strip()
    cell_type = "code"
    if rest.startswith("[markdown]"):
        cell_type = "markdown"
        rest = rest[len("[markdown]"):].strip()
    metadata = {}
    for key, value in re.findall(r'(\w+)=(\[[^\]]*\]|"[^"]*")', rest):
        metadata[key] = json.loads(value)
    return cell_type, metadata


def uncomment(line):
    if not line.strip():
        return ""
    if line.startswith("// "):
        return line[3:]
    if line.startswith("//"):
        return line[2:]
    raise ValueError(f"markdown line is not a comment: {line!r}")


def trim(lines):
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def cells_of(text):
    lines = text.splitlines()
    # Skip the commented YAML header (jupytext metadata); the notebook's metadata is fixed here.
    if lines and lines[0] == "// ---":
        end = lines.index("// ---", 1)
        lines = lines[end + 1:]
    cells, current = [], None
    for line in lines:
        m = MARKER.match(line)
        if m:
            current = (*parse_marker(m.group("rest")), [])
            cells.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"text before the first `// %%` marker: {line!r}")
        else:
            current[2].append(line)
    out = []
    for index, (cell_type, metadata, body) in enumerate(cells):
        body = trim([uncomment(l) if cell_type == "markdown" else l for l in body])
        source = [l + "\n" for l in body]
        if source:
            source[-1] = source[-1][:-1]
        cell = {"cell_type": cell_type, "id": f"cell-{index:02d}", "metadata": metadata, "source": source}
        if cell_type == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        out.append(cell)
    return out


def notebook_of(text):
    return {
        "cells": cells_of(text),
        "metadata": {
            "jupytext": {"formats": "ipynb,rs:percent"},
            "kernelspec": KERNELSPEC,
            "language_info": LANGUAGE_INFO,
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(text):
    return json.dumps(notebook_of(text), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    sources = sorted(NOTEBOOKS.glob("*.rs"))
    if not sources:
        print(f"no notebook sources in {NOTEBOOKS}", file=sys.stderr)
        return 1
    for source in sources:
        target = source.with_suffix(".ipynb")
        wanted = render(source.read_text(encoding="utf-8"))
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == wanted:
            continue
        if check:
            stale.append(target.name)
        else:
            target.write_text(wanted, encoding="utf-8")
            print(f"wrote {target.relative_to(NOTEBOOKS.parent)}")
    if stale:
        print("out of date (run python3 tests/notebooks/pair.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
