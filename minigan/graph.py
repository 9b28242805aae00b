"""Draw the graph a backward() walked: the traced D step, the G step, a penalty's double backward.

    from minigan.graph import draw
    from minigan.trace import default_trainer, trace_step
    result = trace_step(*default_trainer(), out=None)
    draw(result["g_step"]["graph"])                  # in a notebook: the picture, inline
    draw(result["d_updates"][0]["graph"], grads=True)  # each node with the norm of its gradient

    python -m minigan.trace --draw g_step.svg        # from the command line (or .png, .pdf)
    python -m minigan.trace --draw d_step.png --graph d

The graph itself is plain data made by minigan/trace.py (backward_graph, from the same walk the
tracer prints): one node per tensor, one edge per input a Function recorded. This module only
turns it into Graphviz's DOT text (to_dot, no dependency) and, through the `graphviz` Python
package and Graphviz's `dot` program (`pip install graphviz`, `apt-get install graphviz`), into
a picture. Without either, draw() says so in one line and gives the DOT text instead.

What the picture shows: each node is a tensor, labelled with the op that made it and its shape
(a leaf: its parameter's name, or what it is: the real batch, G(z)); G's nodes are blue, D's
orange; a dashed node receives no gradient (in the G step, D's frozen parameters), a dashed
edge carries none (the creator recorded needs_grad False for that input); the red edge crosses
the D/G boundary. Arrows go forward, input -> output, from the bottom up: backward() walks them
top-down, from the loss.
"""
import functools
import os
import shutil

from .io import atomic_write

# fill colours by the part a node belongs to: the two networks, then other parts (a penalty's
# recorded first backward, say) in order of first appearance
COLOURS = {"G": "lightblue", "D": "moccasin"}
OTHER_COLOURS = ("palegreen", "plum", "khaki", "lightpink")
NO_PART = "gray95"
FORMATS = (".svg", ".png", ".pdf")
INSTALL = "pip install graphviz; and Graphviz's dot program: apt-get install graphviz"


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape(shape):
    return "()" if not shape else "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1
                                                                              else "") + ")"


def node_label(node, grads=False):
    """A node's text: op and shape (a leaf: its name), its backward() order, and on request the
    norm of its gradient."""
    number = "" if node["index"] is None else f"#{node['index']} "
    what = node["op"] or node["name"] or "leaf"            # a leaf: a parameter or an input
    lines = [number + what, _shape(node["shape"])]
    if node["note"]:
        lines.append(node["note"])
    if grads and node["grad_norm"] is not None:
        lines.append(f"|grad| {node['grad_norm']:.3g}")
    return "\n".join(lines)


def to_dot(graph, grads=False, title=None):
    """The graph as DOT text (Graphviz's language): forward edges, input -> output, drawn
    bottom-up. grads: each node also shows the norm of its complete gradient (when the graph
    was recorded from a backward, as trace_step's are)."""
    parts = [n["part"] for n in graph["nodes"] if n["part"] is not None]
    others = [p for p in dict.fromkeys(parts) if p not in COLOURS]
    colours = {**COLOURS, **dict(zip(others, OTHER_COLOURS * (1 + len(others))))}
    lines = [f"digraph {graph.get('name', 'backward')} {{", "  rankdir=BT;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    key = _key(graph, colours)
    if title or key:
        label = "\n".join(text for text in (title, key) if text)
        lines.append(f'  labelloc=t; fontname="Helvetica"; fontsize=11; label={_quote(label)};')
    for n in graph["nodes"]:
        style = '"rounded,filled"' if n["gradient"] else '"rounded,filled,dashed"'
        fill = colours.get(n["part"], NO_PART) if n["part"] is not None else (
            "white" if n["op"] is None else NO_PART)
        lines.append(f"  {n['id']} [label={_quote(node_label(n, grads))}, style={style}, "
                     f"fillcolor={fill}];")
    for e in graph["edges"]:
        attributes = []
        if e["boundary"]:
            attributes += [f"label={_quote(e['boundary'])}", "color=red", "fontcolor=red"]
        if not e["gradient"]:
            attributes += ["style=dashed", "color=gray50"]
        extra = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {e['from']} -> {e['to']}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _key(graph, colours):
    used = [p for p in dict.fromkeys(n["part"] for n in graph["nodes"]) if p is not None]
    words = {"lightblue": "blue", "moccasin": "orange", "palegreen": "green", "plum": "purple",
             "khaki": "yellow", "lightpink": "pink"}
    key = ", ".join(f"{p}: {words.get(colours[p], colours[p])}" for p in used)
    if any(not n["gradient"] for n in graph["nodes"]):
        key += ("; " if key else "") + "dashed: no gradient"
    return key


class DotText(str):
    """The DOT text, shown as itself (not as a quoted string) at the end of a notebook cell."""

    def __repr__(self):
        return str(self)


@functools.lru_cache(maxsize=None)
def missing():
    """None when pictures can be drawn, else what is missing, in words."""
    try:
        import graphviz
    except ImportError:
        return f"the graphviz Python package is not installed ({INSTALL})"
    if shutil.which("dot") is None:
        return f"Graphviz's dot program is not on PATH (apt-get install graphviz) " \
               f"[graphviz package {graphviz.__version__}]"
    return None


def draw(graph, grads=False, title=None):
    """The graph as a graphviz.Source, which a notebook displays as a picture; without the
    graphviz package or the dot program, one line saying what is missing and the DOT text."""
    text = to_dot(graph, grads, title)
    reason = missing()
    if reason is not None:
        print(f"minigan.graph: cannot draw: {reason}; here is the graph as DOT text instead")
        return DotText(text)
    import graphviz
    return graphviz.Source(text)


def render(graph, path, grads=False, title=None):
    """Write the picture to `path` (.svg, .png or .pdf, by its ending), atomically. Raises
    RuntimeError saying what is missing when Graphviz is not there."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: expected a file name ending in one of {', '.join(FORMATS)}")
    reason = missing()
    if reason is not None:
        raise RuntimeError(f"cannot draw {path}: {reason}")
    import graphviz
    data = graphviz.Source(to_dot(graph, grads, title)).pipe(format=suffix[1:])
    atomic_write(path, lambda f: f.write(data))
    return path
