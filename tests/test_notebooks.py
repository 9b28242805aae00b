"""The course as notebooks (docs/notebooks/): made from the pages by docs/notebooks/build.py and
committed up to date, their links resolving, a "What to change" cell near the top of each, and
each one run top to bottom in a fresh kernel (nbclient, ipykernel: the `test` extra), failing on
any cell's error. .ci/run sets MINIGAN_REQUIRE_NOTEBOOKS=1: there a missing runner fails the
run tests instead of skipping them."""
import json
import os
import re
import time

import pytest

from conftest import ROOT, load_script

build = load_script("docs/notebooks/build.py")
NOTEBOOKS = [os.path.join(build.HERE, build.notebook_name(page)) for page in build.PAGES]
IDS = [os.path.basename(path) for path in NOTEBOOKS]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
TIMES = {}                                          # notebook -> seconds, from test_notebook_runs
BUDGET_S = 180                                      # all of them, on the CPU


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def test_there_is_a_notebook_per_page():
    assert len(build.PAGES) == 12
    assert sorted(IDS) == sorted(name for name in os.listdir(build.HERE)
                                 if name.endswith(".ipynb"))


def test_notebooks_are_made_from_the_pages():
    stale = build.build(check=True)
    assert not stale, (f"out of date with their pages: {stale}; run python docs/notebooks/build.py "
                       f"(edit the page, never the notebook)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_valid_stripped_and_its_links_resolve(path):
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(path, as_version=4))
    nb = load(path)
    assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None
               for cell in nb["cells"]), "committed with outputs"
    missing = [target for cell in nb["cells"] if cell["cell_type"] == "markdown"
               for target in LINK.findall("".join(cell["source"])) if "://" not in target
               and not os.path.exists(os.path.join(build.HERE, target))]
    assert not missing, f"{os.path.basename(path)} links to files that do not exist: {missing}"


@pytest.mark.parametrize("page", build.PAGES, ids=[os.path.basename(p) for p in build.PAGES])
def test_what_to_change_on_the_page_and_near_the_top_of_the_notebook(page):
    with open(page, encoding="utf-8") as f:
        text = f.read()
    assert build.own_link(page) in text, "the page does not link to its notebook"
    cells = load(os.path.join(build.HERE, build.notebook_name(page)))["cells"]
    top = ["".join(cell["source"]) for cell in cells[:4] if cell["cell_type"] == "markdown"]
    what = [source for source in top if source.startswith(build.WHAT_TO_CHANGE)]
    assert what, "no 'What to change' cell among the notebook's first four"
    paragraph = re.search(r"^> \*\*What to change\.\*\*.*?(?=\n\n|\n[^>])", text, re.M | re.S)
    assert paragraph and paragraph.start() < len(text) // 10, "not near the top of the page"
    # the notebook's paragraph is the page's, its links rewritten for the notebooks' folder
    assert what[0] == build.LINK.sub(lambda m: m.group(1) + build.rewrite_link(m.group(2))
                                     + m.group(3), paragraph.group(0))


def test_course_index_opens_the_course_in_jupyter():
    with open(os.path.join(ROOT, "docs", "README.md"), encoding="utf-8") as f:
        index = f.read()
    assert "](notebooks)" in index and 'pip install -e ".[notebooks]" && jupyter lab ' \
                                      'docs/notebooks' in index
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert 'pip install -e ".[notebooks]" && jupyter lab docs/notebooks' in f.read()


SYNTHETIC = """\
# A page

The intro, with [page 1](01-autograd.md#2-the-order), [the tensor](../minigan/tensor.py) and
![a picture](images/lab_ring.png).

*Run this page in Jupyter: [notebooks/99-page.ipynb](notebooks/99-page.ipynb).*

> **What to change.** Set `k = 5` and re-run: the
> second line.

## 1. Code

```python
# quoted library code (abridged: not runnable alone)
self.step()
```

```python
x = 1
print(x)

# The numbers the text quotes.
assert x == 1
```

```text
1
```

<!-- notebook
y = x + 1   # a cell the web page does not show
-->
"""


def test_generator_on_a_synthetic_page(tmp_path):
    page = tmp_path / "99-page.md"
    page.write_text(SYNTHETIC, encoding="utf-8")
    cells = build.cells_of(str(page))
    kinds = [kind for kind, _ in cells]
    assert kinds == ["markdown", "markdown", "markdown", "markdown", "code", "code", "markdown",
                     "code"]
    header, intro, what, section, run, checks, output, hidden = (text for _, text in cells)
    assert "[99-page.md](../99-page.md)" in header
    assert "(01-autograd.ipynb#2-the-order)" in intro and "(../../minigan/tensor.py)" in intro
    assert "(../images/lab_ring.png)" in intro and "notebooks/99-page.ipynb" not in intro
    assert what == "> **What to change.** Set `k = 5` and re-run: the\n> second line."
    assert "(abridged" in section and section.startswith("## 1. Code")     # text, not code
    assert run == "x = 1\nprint(x)" and checks.startswith("# The numbers the text quotes.")
    assert output.startswith("```text")
    assert hidden == "y = x + 1   # a cell the web page does not show"
    nb = json.loads(build.notebook(str(page)))
    assert nb["nbformat"] == 4 and len({cell["id"] for cell in nb["cells"]}) == len(cells)
    assert build.notebook(str(page)) == build.notebook(str(page))       # stable, ids included


@pytest.fixture(scope="module")
def runner():
    reason = None
    try:
        import ipykernel  # noqa: F401
        import nbclient  # noqa: F401
    except ImportError as error:
        reason = f"need nbclient and ipykernel (pip install -e \".[test]\"): {error}"
    if reason and os.environ.get("MINIGAN_REQUIRE_NOTEBOOKS"):
        pytest.fail(f"MINIGAN_REQUIRE_NOTEBOOKS is set, but the notebook runs {reason}")
    if reason:
        pytest.skip(reason)
    return build.execute


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs(path, runner, tmp_path):
    """Top to bottom in a fresh kernel, in an empty folder (what its cells write lands there),
    with one BLAS thread; a cell's error fails the test with the cell and its traceback."""
    start = time.perf_counter()
    runner(path, str(tmp_path))
    TIMES[os.path.basename(path)] = time.perf_counter() - start
    print(f"{os.path.basename(path)}: {TIMES[os.path.basename(path)]:.1f} s")


@pytest.mark.notebook
def test_all_notebooks_within_the_budget():
    if len(TIMES) < len(NOTEBOOKS):
        pytest.skip("needs every test_notebook_runs to have run and passed in this session")
    total = sum(TIMES.values())
    print("\n".join(f"{name}: {seconds:.1f} s" for name, seconds in TIMES.items()))
    assert total < BUDGET_S, f"the notebooks took {total:.0f} s together, over {BUDGET_S} s"
