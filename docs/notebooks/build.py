"""Make the course's notebooks from its pages: docs/NN-*.md -> docs/notebooks/NN-*.ipynb.

    python docs/notebooks/build.py            # write the notebooks (only those that changed)
    python docs/notebooks/build.py --check    # exit 1, naming them, if any is out of date
    python docs/notebooks/build.py --run      # execute every notebook, print each one's time

The page is the one source: edit it, never the notebook, then run this script (the tests check
that the committed notebooks are what it makes). From a page it takes, in order:

- each ```python block: a code cell, but a block marked "(abridged" (library code quoted out
  of context) stays text; a block whose checks start with a line "# The numbers the text
  quotes" (or "... the text below quotes", "... §2 and §4 quote") is cut there into two
  cells, so that after a change you can re-run the computation and skip the checks of the
  page's own numbers;
- a comment block that starts "<!-- notebook" and ends "-->": a code cell that the web page
  does not show (a plot, a drawing of the graph);
- the block quote that starts "> **What to change.**": a cell of its own;
- the rest: text cells, a new one at each "## " heading, with the links rewritten for the
  notebooks' folder (another course page -> its notebook, anything else -> "../" + the link)
  and the line that links the page to its own notebook left out.

The notebooks are written without outputs, with stable cell ids, as nbformat 4.5 JSON (what
Jupyter itself writes: one-space indent, sorted keys), by the standard library alone.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.dirname(HERE)
PAGES = sorted(glob.glob(os.path.join(DOCS, "[0-9][0-9]-*.md")))
WHAT_TO_CHANGE = "> **What to change.**"
HIDDEN_START, HIDDEN_END = "<!-- notebook", "-->"
CHECKS = re.compile(r"\n\n(?=# The numbers [^\n]*quote)")   # "# The numbers the text quotes"
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
METADATA = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def notebook_name(page):
    return os.path.splitext(os.path.basename(page))[0] + ".ipynb"


def own_link(page):
    """The page's line that links it to its notebook (left out of the notebook)."""
    return f"](notebooks/{notebook_name(page)})"


def rewrite_link(target):
    """A link of a page (relative to docs/) as seen from docs/notebooks/."""
    if "://" in target or target.startswith(("#", "mailto:")):
        return target
    path, _, anchor = target.partition("#")
    if re.fullmatch(r"[0-9][0-9]-[^/]*\.md", path) and os.path.join(DOCS, path) in PAGES:
        path = path[:-3] + ".ipynb"
    elif path.startswith("notebooks/"):
        path = path[len("notebooks/"):]
    else:
        path = os.path.normpath(os.path.join("..", path)).replace(os.sep, "/")
    return path + ("#" + anchor if anchor else "")


def cells_of(page):
    """The page's cells: a list of (kind, text), kind "markdown" or "code"."""
    with open(page, encoding="utf-8") as f:
        lines = f.read().split("\n")
    name = os.path.basename(page)
    cells = [("markdown", f"*This notebook is made from the course page [{name}](../{name}) by "
                          f"[build.py](build.py): edit the page, not the notebook. The course's "
                          f"index: [README.md](../README.md). Run the cells in order; the snippets "
                          f"end with asserts of the page's own numbers, so after you change "
                          f"something an assert that fails tells you which number moved.*")]
    text, i = [], 0

    def flush():
        body = "\n".join(text).strip("\n")
        if body.strip():
            cells.append(("markdown", LINK.sub(lambda m: m.group(1) + rewrite_link(m.group(2))
                                               + m.group(3), body)))
        text.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):                       # a fenced block, up to its end
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            block = lines[i + 1:end]
            if line.strip() == "```python" and not any("(abridged" in b for b in block):
                flush()
                code = "\n".join(block)
                parts = CHECKS.split(code, maxsplit=1)
                cells.extend(("code", part.strip("\n")) for part in parts)
            else:
                text.extend(lines[i:end + 1])
            i = end + 1
        elif line.startswith(HIDDEN_START):
            end = next((j for j in range(i, len(lines)) if lines[j].rstrip().endswith(HIDDEN_END)),
                       None)
            if end is None:
                raise ValueError(f"{name}:{i + 1}: {HIDDEN_START} without {HIDDEN_END}")
            flush()
            body = lines[i + 1:end] + [lines[end].rstrip()[:-len(HIDDEN_END)]]
            cells.append(("code", "\n".join(body).strip("\n")))
            i = end + 1
        elif line.startswith(WHAT_TO_CHANGE):
            flush()
            end = next((j for j in range(i, len(lines)) if not lines[j].startswith(">")),
                       len(lines))
            text.extend(lines[i:end])
            flush()
            i = end
        elif own_link(page) in line:
            i += 1
        else:
            if line.startswith("## "):
                flush()
            text.append(line)
            i += 1
    flush()
    return cells


def notebook(page):
    """The notebook of a page, as the JSON text to write."""
    cells, seen = [], set()
    for kind, source in cells_of(page):
        cell_id = hashlib.sha1(source.encode("utf-8")).hexdigest()[:8]
        while cell_id in seen:                       # the same text twice: a new id, still stable
            cell_id = hashlib.sha1(cell_id.encode("ascii")).hexdigest()[:8]
        seen.add(cell_id)
        cell = {"cell_type": kind, "id": cell_id, "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    nb = {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def build(check=False):
    """Write every page's notebook (check: write nothing); return the names out of date."""
    stale = []
    for page in PAGES:
        path = os.path.join(HERE, notebook_name(page))
        text = notebook(page)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            stale.append(os.path.basename(path))
            if not check:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
    return stale


def execute(path, cwd, timeout=600):
    """Run a notebook top to bottom in a fresh kernel, with `cwd` as its folder (what the cells
    write lands there) and one BLAS thread (docs/README.md says why); return the seconds it
    took. A cell's error raises nbclient's CellExecutionError, naming the cell."""
    import nbclient
    import nbformat
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    env.pop("MPLBACKEND", None)                      # the kernel's own: plots inline
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": cwd}})
    start = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - start


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if out of date")
    p.add_argument("--run", action="store_true", help="execute every notebook, print the times")
    args = p.parse_args(argv)
    stale = build(check=args.check)
    if args.check and stale:
        sys.exit("out of date (run python docs/notebooks/build.py): " + ", ".join(stale))
    for name in stale:
        print("wrote", os.path.join("docs", "notebooks", name))
    if args.run:
        import tempfile
        total = 0.0
        for page in PAGES:
            with tempfile.TemporaryDirectory() as folder:
                seconds = execute(os.path.join(HERE, notebook_name(page)), folder)
            total += seconds
            print(f"{notebook_name(page):42s} {seconds:6.1f} s", flush=True)
        print(f"{'all ' + str(len(PAGES)) + ' notebooks':42s} {total:6.1f} s")


if __name__ == "__main__":
    main()
