"""Every runnable Python block in README.md and docs/*.md runs, so the docs cannot rot.

Blocks marked "(abridged" quote library code out of context and are skipped."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]


def python_blocks(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for i, block in enumerate(re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)):
        if "(abridged" not in block:
            yield pytest.param(block, id=f"{os.path.basename(path)}-{i}")


@pytest.mark.parametrize("code", [b for page in PAGES if os.path.exists(page)
                                  for b in python_blocks(page)])
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # snippets that write files write them here
    exec(compile(code, "<docs snippet>", "exec"), {"__name__": "__docs__"})
