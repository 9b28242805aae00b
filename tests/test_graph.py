"""The step's graph, drawn (minigan/graph.py, from minigan/trace.py's backward_graph): what the
D step, the G step and a penalty's double backward show, gradients' norms on request, the
command line's --draw, and what happens without Graphviz.

The tests that draw need the graphviz Python package (the `test` extra) and Graphviz's `dot`
program (Debian's graphviz); they skip, saying why, where either is missing. .ci/run installs
the program and sets MINIGAN_REQUIRE_GRAPHVIZ=1 when it is there, so in CI they fail instead."""
import os

import numpy as np
import pytest

import minigan
from minigan import Tensor, graph as drawing
from minigan.gan import Discriminator
from minigan.trace import BOUNDARY, default_trainer, loss_graph, main, trace_step, walk


@pytest.fixture
def graphviz_drawing():
    reason = drawing.missing()
    if reason and os.environ.get("MINIGAN_REQUIRE_GRAPHVIZ"):
        pytest.fail(f"MINIGAN_REQUIRE_GRAPHVIZ is set, but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture
def no_graphviz(monkeypatch):
    """As on a machine without the graphviz package."""
    monkeypatch.setattr(drawing, "missing", lambda: "the graphviz Python package is not "
                                                    "installed (pip install graphviz)")


def traced(**options):
    trainer, data = default_trainer(**options)
    return trace_step(trainer, data, 8, out=None)


def by_name(graph):
    return {n["name"]: n for n in graph["nodes"] if n["name"]}


def test_g_step_graph_marks_d_frozen_and_the_boundary():
    result = traced()
    graph, rows = result["g_step"]["graph"], result["g_step"]["rows"]
    nodes = by_name(graph)
    d_params = [n for name, n in nodes.items() if name.startswith("D.")]
    g_params = [n for name, n in nodes.items() if name.startswith("G.")]
    assert len(d_params) == len(g_params) == 6
    assert all(n["part"] == "D" and not n["gradient"] and n["note"] == "frozen: no gradient"
               for n in d_params)
    assert all(n["part"] == "G" and n["gradient"] and n["grad_norm"] > 0 for n in g_params)
    assert nodes["z"]["gradient"] is False and nodes["z"]["part"] is None
    ops = [n for n in graph["nodes"] if n["op"]]
    assert {n["part"] for n in ops} == {"G", "D"} and all(n["shape"] is not None for n in ops)
    reached = [n for n in graph["nodes"] if n["gradient"]]
    assert [n["index"] for n in reached] == [r["index"] for r in rows]     # the tracer's rows
    assert [n["grad_norm"] for n in reached] == [r["grad_norm"] for r in rows]
    [boundary] = [e for e in graph["edges"] if e["boundary"]]
    ids = {n["id"]: n for n in graph["nodes"]}
    assert boundary["boundary"] == BOUNDARY and ids[boundary["from"]]["note"] == "G(z), D's input"
    frozen_edges = [e for e in graph["edges"] if ids[e["from"]]["name"] in
                    {n["name"] for n in d_params}]
    assert len(frozen_edges) == 6 and not any(e["gradient"] for e in frozen_edges)

    text = drawing.to_dot(graph)
    assert text.startswith("digraph g_step {") and text.rstrip().endswith("}")
    assert "fillcolor=lightblue" in text and "fillcolor=moccasin" in text
    assert 'label="#2 Linear\\n(8, 1)"' in text                         # op and shape
    assert '"D.net.layers.0.weight\\n(2, 128)\\nfrozen: no gradient", ' \
           'style="rounded,filled,dashed"' in text
    assert f'label="{BOUNDARY}", color=red' in text and "|grad|" not in text


def test_gradient_norms_on_request():
    graph = traced()["g_step"]["graph"]
    text = drawing.to_dot(graph, grads=True)
    reached = [n for n in graph["nodes"] if n["gradient"]]
    assert text.count("|grad|") == len(reached)
    first = reached[0]
    assert drawing.node_label(first, grads=True).endswith(f"|grad| {first['grad_norm']:.3g}")


def test_d_step_graph_stops_at_the_cut():
    result = traced()
    graph = result["d_updates"][0]["graph"]
    nodes = by_name(graph)
    assert not any(n["part"] == "G" for n in graph["nodes"])             # G is not in it
    cut = next(n for name, n in nodes.items() if "no_grad" in name)
    real = nodes["real batch x"]
    assert not cut["gradient"] and not real["gradient"] and cut["op"] is None
    assert all(n["gradient"] and n["part"] == "D" for name, n in nodes.items()
               if name.startswith("D."))
    notes = {n["note"] for n in graph["nodes"]}
    assert {"BCE(D(x), 1)", "BCE(D(G(z)), 0)"} <= notes
    assert {n["phase"] for n in graph["nodes"] if n["gradient"]} == {"loss", "real", "generated",
                                                                     "shared"}
    assert not any(e["boundary"] for e in graph["edges"])
    assert result["d_updates"][0]["g_tensors_reached"] == 0


def test_penalty_graphs_show_the_recorded_first_backward():
    graph = traced(data="ring", penalty="r1")["d_updates"][0]["graph"]
    assert any(n["part"] == "penalty" for n in graph["nodes"])
    assert "the penalty" in {n["note"] for n in graph["nodes"]}

    # page 11's one-layer D: the forward, the recorded first backward, the penalty on top
    shapes = {}
    for activation in ("tanh", "relu"):
        minigan.manual_seed(0)
        D = Discriminator(data_dim=2, hidden=(5,), activation=activation).astype("float64")
        x = Tensor(np.random.default_rng(0).normal(size=(8, 2)), requires_grad=True, name="x")
        logit = D(x)
        g = minigan.grad(logit.sum(), x, create_graph=True)
        P = 0.5 * (g * g).sum()
        graph = loss_graph(P, modules={"D": D}, parts={"D": logit, "first backward": g},
                           grads=True)
        names = {n["name"] for n in graph["nodes"] if n["gradient"] and n["name"]}
        shapes[activation] = names
        assert any(n["part"] == "first backward" for n in graph["nodes"])
        weight = next(n for n in graph["nodes"] if n["name"] == "D.net.layers.0.weight")
        np.testing.assert_allclose(weight["grad_norm"], np.linalg.norm(D.parameters()[0].grad),
                                   rtol=1e-6)
    assert shapes["tanh"] == {"D.net.layers.0.weight", "D.net.layers.0.bias",
                              "D.net.layers.2.weight", "x"}
    assert shapes["relu"] == {"D.net.layers.0.weight", "D.net.layers.2.weight"}   # a 0/1 mask


def test_the_static_walk_is_what_backward_reaches():
    minigan.manual_seed(0)
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, name="x")
    w = Tensor(np.array([2.0, 3.0]), requires_grad=True, name="w")
    loss = (x * w + Tensor(np.array([1.0, 1.0]))).tanh().sum()
    static = loss_graph(loss)
    recorded = loss_graph(loss, grads=True)
    assert len(walk(loss)) == sum(n["gradient"] for n in static["nodes"]) == 6
    assert sorted(n["op"] or n["name"] for n in static["nodes"]) == \
        sorted(n["op"] or n["name"] for n in recorded["nodes"])
    assert "constant" in {n["name"] for n in static["nodes"] if not n["gradient"]}
    assert recorded["nodes"][0]["index"] == 1 and static["nodes"][0]["index"] is None


def test_draw_without_graphviz_says_so_and_gives_the_dot_text(no_graphviz, capsys):
    graph = traced()["g_step"]["graph"]
    shown = drawing.draw(graph)
    message = capsys.readouterr().out
    assert message.count("\n") == 1 and "graphviz Python package is not installed" in message
    assert isinstance(shown, str) and shown == drawing.to_dot(graph)
    assert repr(shown).startswith("digraph g_step {")        # a notebook shows the text itself
    with pytest.raises(RuntimeError, match="cannot draw g.svg: the graphviz Python package"):
        drawing.render(graph, "g.svg")


def test_missing_names_the_package_or_the_program(monkeypatch):
    import shutil
    import sys
    drawing.missing.cache_clear()
    try:
        monkeypatch.setitem(sys.modules, "graphviz", None)             # import graphviz fails
        assert "graphviz Python package is not installed" in drawing.missing()
        drawing.missing.cache_clear()
        monkeypatch.delitem(sys.modules, "graphviz")
        pytest.importorskip("graphviz")
        monkeypatch.setattr(shutil, "which", lambda name: None)
        assert "dot program is not on PATH" in drawing.missing()
    finally:
        drawing.missing.cache_clear()


def test_cli_draw_without_graphviz(no_graphviz, tmp_path, capsys):
    picture = tmp_path / "g_step.svg"
    with pytest.raises(SystemExit) as stopped:
        main(["--batch-size", "4", "--draw", str(picture)])
    assert stopped.value.code == 1 and not picture.exists()
    out = capsys.readouterr().out
    lines = out.rstrip().split("\n")
    assert "digraph g_step {" in out
    assert lines[-1].startswith(f"minigan.trace: cannot draw {picture}: the graphviz Python")


def test_cli_draw_refuses_to_replace_a_file_or_a_wrong_ending(tmp_path, capsys):
    from minigan.trace import _main
    picture = tmp_path / "g_step.svg"
    picture.write_text("the user's picture")
    for argv, message in ((["--draw", str(picture)], f"--draw {picture} exists; give --overwrite"),
                          (["--draw", str(tmp_path / "g.jpg")], "expected a file name ending in"
                                                                 " one of .svg, .png, .pdf")):
        with pytest.raises(SystemExit) as stopped:
            _main(["--batch-size", "4"] + argv)
        assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert picture.read_text() == "the user's picture"


def test_cli_draws_svg_and_png(graphviz_drawing, tmp_path, capsys):
    svg, png, pdf = tmp_path / "g_step.svg", tmp_path / "d_step.png", tmp_path / "d.pdf"
    main(["--batch-size", "4", "--draw", str(svg)])
    text = svg.read_text()
    assert "<svg" in text and "frozen: no gradient" in text and BOUNDARY in text
    main(["--batch-size", "4", "--draw", str(png), "--graph", "d", "--grads", "--dot",
          str(tmp_path / "d.dot")])
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "|grad|" in (tmp_path / "d.dot").read_text()
    main(["--batch-size", "4", "--draw", str(pdf), "--penalty", "r1", "--graph", "d"])
    assert pdf.read_bytes().startswith(b"%PDF")
    svg.write_text("old")
    main(["--batch-size", "4", "--draw", str(svg), "--overwrite"])
    assert "<svg" in svg.read_text()
    assert "graph drawn to" in capsys.readouterr().out


def test_draw_in_a_notebook_is_a_picture(graphviz_drawing):
    import graphviz
    shown = drawing.draw(traced()["g_step"]["graph"], grads=True)
    assert isinstance(shown, graphviz.Source)
    bundle = shown._repr_mimebundle_()                # what Jupyter calls to display it
    assert "<svg" in bundle["image/svg+xml"] and "|grad|" in bundle["image/svg+xml"]
