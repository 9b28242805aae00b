"""Every runnable Python block in README.md and docs/*.md runs, so the docs cannot rot.

Blocks marked "(abridged" quote library code out of context and are skipped."""
import glob
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))) + [os.path.join(ROOT, "README.md")]
PAGE_IDS = [os.path.relpath(page, ROOT) for page in PAGES]


def python_blocks(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for i, block in enumerate(re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)):
        if "(abridged" not in block:
            yield pytest.param(block, id=f"{os.path.relpath(path, ROOT)}-{i}")


@pytest.mark.parametrize("code", [b for page in PAGES if os.path.exists(page)
                                  for b in python_blocks(page)])
def test_snippet_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # snippets that write files write them here
    exec(compile(code, "<docs snippet>", "exec"), {"__name__": "__docs__"})


# --- the links: the course index, the README's source map and every page's links agree -------
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def links(path):
    with open(path, encoding="utf-8") as f:
        return [target for target in LINK.findall(f.read()) if "://" not in target]


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_relative_links_resolve(page):
    missing = [t for t in links(page)
               if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(page), t)))]
    assert not missing, f"{os.path.relpath(page, ROOT)} links to files that do not exist: {missing}"


def test_course_index_lists_every_page():
    index = os.path.join(ROOT, "docs", "README.md")
    listed = {os.path.basename(t) for t in links(index) if t.endswith(".md")}
    pages = {os.path.basename(p) for p in PAGES if os.path.dirname(p).endswith("docs")}
    unlisted = pages - {"README.md"} - listed
    assert not unlisted, f"pages not in docs/README.md: {unlisted}"


def test_readme_source_map_names_every_module():
    readme = os.path.join(ROOT, "README.md")
    mapped = {os.path.normpath(t) for t in links(readme)}
    package = os.path.join(ROOT, "minigan")
    modules = {os.path.relpath(path, ROOT)
               for path in glob.glob(os.path.join(package, "*.py"))
               if not path.endswith("__init__.py")}
    subpackages = {os.path.relpath(os.path.dirname(path), ROOT)
                   for path in glob.glob(os.path.join(package, "*", "__init__.py"))}
    unmapped = sorted(m for m in modules | subpackages if m not in mapped)
    assert not unmapped, f"README's source map does not name: {unmapped}"
