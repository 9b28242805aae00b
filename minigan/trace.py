"""Trace one step of Algorithm 1: every tensor that backward() reaches, phase by phase.

    python -m minigan.trace                          # the default sine GAN of examples/gan_2d.py
    python -m minigan.trace --data ring --loss minimax --k 2
    python -m minigan.trace --data ring --penalty r1      # and the penalty's double backward
    python -m minigan.trace --checkpoint runs/gan_2d_sine/checkpoint.npz --dot g_step.dot
    python -m minigan.trace --draw g_step.svg             # the G step's graph (minigan/graph.py)
    python -m minigan.trace --draw d_step.png --graph d --grads

trace_step() calls the trainer's own train_step once and watches it: every update of a network
is zero_grad, backward, step (GANTrainer.update), so the trainer's optimisers, wrapped for the
step, say where each update starts and ends, and tensor.backward_hook sees every tensor backward()
reaches in between. Each is printed in the order backward() processed it: the op that made it (a
parameter's name for parameters), its shape, its values and the norm of its complete gradient.
Around the tables, the checks that answer "does the G step update D?" and "why detach?" with
numbers. Training never imports this module.
"""
import math
import os
import sys

# Host-side only: every array is copied to the host (backend.to_numpy, in _host) before these
# summaries, so NumPy here never sees a device array and the trace reads the same on CPU and GPU.
import numpy as np

from . import backend, cli
from .data import DATASETS, make_2d
from .functions import stable_sigmoid
from .gan import Discriminator, GANTrainer, Generator
from .gan.checks import check_data, check_labels
from .gan.losses import GENERATOR_LOSSES, generator_loss
from .gan.penalties import PENALTIES
from .io import atomic_write
from .optim import Adam
from .random import manual_seed
from .tensor import Tensor, backward_hook

BOUNDARY = "D/G boundary"
# Where sigmoid-then-log breaks in float32. Above ln 2^24 no float32 lies between sigmoid(l) and
# 1 (the gap below 1 is 2^-24), so 1 - p is 0 or one step: ln(1 - p) is ln 0 or wrong. Below
# ln 2^-150, sigmoid(l) ~ e^l is under half the smallest float32 and rounds to 0: ln p = ln 0.
NAIVE_LOG_1MP_LIMIT = 24 * math.log(2)       # 16.64
NAIVE_LOG_P_LIMIT = -150 * math.log(2)       # -103.97


def _host(a):
    return np.asarray(backend.to_numpy(a), dtype=np.float64)


def _norm(a):
    return float(np.sqrt((_host(a) ** 2).sum()))


def grad_norm(params):
    """The norm of a parameter group's gradients as one vector; None when no .grad is set."""
    grads = [p.grad for p in params if p.grad is not None]
    return None if not grads else math.sqrt(sum(_norm(g) ** 2 for g in grads))


def same_state(before, after):
    """True when two state_dict()s hold the same values."""
    return all(np.array_equal(before[k], after[k]) for k in before)


def max_change(before, after):
    """The largest change of any value between two state_dict()s."""
    return max(float(np.abs(after[k].astype(np.float64) - before[k]).max()) for k in before)


def walk(*roots):
    """The tensors backward() from these roots reaches, each once, roots first (its first pass,
    in tensor.py): from a tensor to each input its creator recorded as needing a gradient."""
    seen, order, stack = set(), [], [r for r in roots if r is not None]
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            order.append(t)
            if t.creator is not None:
                stack += [x for x, needs in zip(t.creator.inputs, t.creator.needs_grad) if needs]
    return order


def _reachable(*roots):
    """ids of the tensors backward() from these roots walks to."""
    return {id(t) for t in walk(*roots)}


# --- the graph: what minigan/graph.py draws ------------------------------------------------------
def backward_graph(tensors, names=None, *, grad_norms=None, indices=None, phases=None,
                   part_of=None, leaves=None, notes=None, name="backward"):
    """The graph one backward() walked, as plain data: {"name", "nodes", "edges"}.

    tensors: the tensors it reached (in backward()'s order when a backward_hook recorded them,
    as trace_step does; or walk(loss)); names: {id(parameter): "D.net.layers.0.weight"};
    grad_norms and indices: per tensor, the norm of its complete gradient and its place in
    backward()'s order (None: not recorded); phases: per tensor, the tracer's phase ("real",
    "generated", "penalty", "shared", "loss"; "G" or "D" in the G step), for a view that plays
    the update phase by phase; part_of(i, tensor): the part the i-th tensor's node
    belongs to ("G", "D", ...: its colour); leaves: {id(tensor): what it is} for the inputs
    that are not parameters (the real batch, G(z)); notes: {id(tensor): a remark}.

    A node per reached tensor, then one per input backward() did not reach (D's frozen
    parameters in the G step, the batches): {"id", "index", "op" (None for a leaf), "name",
    "shape", "phase", "part", "gradient" (reached: it receives a gradient), "grad_norm", "note"}. An
    edge per input each creator recorded, input -> output: {"from", "to", "gradient" (the
    creator's needs_grad for it), "boundary" (BOUNDARY where it crosses from G to D, else
    None)}. A parameter's part is its network, the first word of its name."""
    names, leaves, notes = names or {}, leaves or {}, notes or {}
    ids = {id(t): f"t{i}" for i, t in enumerate(tensors)}
    nodes, edges, extra = [], [], {}

    def network(t):
        words = names.get(id(t), "").split(".")
        return words[0] if len(words) > 1 else None

    def node(key, t, index, phase, part, reached, norm):
        leaf = t.creator is None
        label = names.get(id(t)) or leaves.get(id(t)) or getattr(t, "name", None) or (
            "leaf" if t.requires_grad else "constant")
        nodes.append({"id": key, "index": index, "op": None if leaf else type(t.creator).__name__,
                      "name": label if leaf else None, "shape": list(t.shape), "phase": phase,
                      "part": network(t) or part, "gradient": reached, "grad_norm": norm,
                      "note": notes.get(id(t), "")})

    for i, t in enumerate(tensors):
        node(ids[id(t)], t, None if indices is None else indices[i],
             None if phases is None else phases[i],
             None if part_of is None else part_of(i, t), True,
             None if grad_norms is None else grad_norms[i])
    part = {n["id"]: n["part"] for n in nodes}
    for t in tensors:
        if t.creator is None:
            continue
        for x, needs in zip(t.creator.inputs, t.creator.needs_grad):
            if not isinstance(x, Tensor):
                continue
            if id(x) not in ids and id(x) not in extra:
                extra[id(x)] = f"x{len(extra)}"
                node(extra[id(x)], x, None, None, None, False, None)
                part[extra[id(x)]] = nodes[-1]["part"]
            source, target = ids.get(id(x)) or extra[id(x)], ids[id(t)]
            crosses = part[source] == "G" and part[target] == "D" and x.creator is not None
            edges.append({"from": source, "to": target, "gradient": bool(needs),
                          "boundary": BOUNDARY if crosses else None})
    return {"name": name, "nodes": nodes, "edges": edges}


def loss_graph(loss, modules=None, parts=None, grads=False, name="backward"):
    """The graph backward() from `loss` walks, for any computation (page 1's, page 11's double
    backward): modules {"D": D} names their parameters "D.<name>" and colours them; parts
    {label: tensor}, in order: a node belongs to the first part whose walk reaches it (e.g.
    {"D": logits, "recorded first backward": g} for a penalty on g = dl/dx). grads=True runs
    loss.backward() (so .grad accumulates, as after any backward) and records, through
    backward_hook, backward()'s order and each tensor's gradient norm."""
    names = {id(p): f"{key}.{n}" for key, m in (modules or {}).items()
             for n, p in m.named_parameters()}
    indices = norms = None
    if grads:
        recorded = []
        with backward_hook(lambda t, g: recorded.append(
                (t, _norm(g.data if isinstance(g, Tensor) else g)))):
            loss.backward()
        tensors = [t for t, _ in recorded]
        norms = [n for _, n in recorded]
        indices = list(range(1, len(tensors) + 1))
    else:
        tensors = walk(loss)
    reach = [(label, _reachable(root)) for label, root in (parts or {}).items()]
    part_of = (lambda i, t: next((label for label, ids in reach if id(t) in ids), None))
    return backward_graph(tensors, names, grad_norms=norms, indices=indices, part_of=part_of,
                          name=name)


class _Recorder:
    """The backward hook: one row per tensor, summarised at once (the optimiser's step changes
    the parameters in place right after the backward)."""

    def __init__(self, names):
        self.names, self.rows, self.tensors = names, [], []

    def __call__(self, t, grad):
        v = _host(t.data)
        op = self.names.get(id(t)) or (type(t.creator).__name__ if t.creator else "leaf")
        self.rows.append({"index": len(self.rows) + 1, "op": op, "shape": tuple(t.shape),
                          "mean": float(v.mean()), "std": float(v.std()),
                          "min": float(v.min()) + 0.0, "max": float(v.max()),   # + 0.0: no -0
                          "grad_norm": _norm(grad.data if isinstance(grad, Tensor) else grad),
                          "phase": "", "note": ""})
        self.tensors.append(t)

    def tensor_of(self, value):
        """The recorded tensor holding `value`'s array (the trainer's results are detached
        copies of the graph's tensors: the same arrays)."""
        return next((x for x in self.tensors if x.data is value.data), None)

    def row_of(self, value):
        return next((r for x, r in zip(self.tensors, self.rows) if x.data is value.data), None)


def _naive_failures(phase, logits):
    """The logits (a list) where BCE computed as sigmoid, then log, breaks in float32."""
    out = []
    for i, l in enumerate(logits):
        if l > NAIVE_LOG_1MP_LIMIT:
            out.append({"phase": phase, "sample": i, "logit": float(l), "breaks": "ln(1 - p)"})
        if l < NAIVE_LOG_P_LIMIT:
            out.append({"phase": phase, "sample": i, "logit": float(l), "breaks": "ln p"})
    return out


def _num(v):
    return "None" if v is None else f"{v:.4g}"


# --- watching the trainer's step ------------------------------------------------------------------
class _Watch:
    """Watches one train_step through the trainer's optimisers. Each update is zero_grad,
    backward, step: at zero_grad (before it clears anything) both networks are noted, the
    backward hook records every tensor into this update's rows, and after step the networks are
    noted again. One entry in `updates` per optimiser step, in order."""

    def __init__(self, trainer, names):
        self.trainer, self.names, self.updates = trainer, names, []
        self.penalty = None          # a gradient penalty's recorded first backward, if any

    def __call__(self, t, grad):                    # the backward hook
        if isinstance(grad, Tensor):                # a recorded backward: a penalty's dD/dx,
            if self.penalty is None:                # computed before its update's zero_grad
                self.penalty = _Recorder(self.names)
            self.penalty(t, grad)
        else:
            self.updates[-1]["recorder"](t, grad)

    def _state(self):
        G, D = self.trainer.G.parameters(), self.trainer.D.parameters()
        return {"G": grad_norm(G), "D": grad_norm(D), "G_grads": [p.grad for p in G],
                "D_grads": [p.grad for p in D], "G_state": self.trainer.G.state_dict(),
                "D_state": self.trainer.D.state_dict()}

    def zero_grad(self, network):
        self.updates.append({"network": network, "before": self._state(),
                             "recorder": _Recorder(self.names), "penalty": self.penalty})
        self.penalty = None

    def step(self):
        self.updates[-1]["after"] = self._state()


class _WatchedOptimizer:
    """An optimiser that tells a _Watch when it clears gradients and when it has stepped."""

    def __init__(self, optimizer, watch, network):
        self.optimizer, self.watch, self.network = optimizer, watch, network

    def zero_grad(self):
        self.watch.zero_grad(self.network)
        self.optimizer.zero_grad()

    def step(self):
        self.optimizer.step()
        self.watch.step()


def _watched_step(trainer, data, batch_size, labels, names):
    """trainer.train_step, watched: (its D steps, its G step, the watched updates)."""
    watch = _Watch(trainer, names)
    optimizers = trainer.g_optimizer, trainer.d_optimizer
    trainer.g_optimizer = _WatchedOptimizer(optimizers[0], watch, "G")
    trainer.d_optimizer = _WatchedOptimizer(optimizers[1], watch, "D")
    try:
        with backward_hook(watch):
            d_steps, g_step = trainer.train_step(data, batch_size, labels)
    finally:
        trainer.g_optimizer, trainer.d_optimizer = optimizers
    return d_steps, g_step, watch.updates


def _d_update(trainer, update, passes, fake):
    """The summary of one D update: `passes` [(name, (loss, class loss, logits))] are the loss
    terms it trained on; `fake` is the generated batch, to show where the graph stops."""
    rec, before, after = update["recorder"], update["before"], update["after"]
    reach = [_reachable(*(rec.tensor_of(t) for t in (loss, cls) if t is not None))
             for _, (loss, cls, _) in passes]
    for t, row in zip(rec.tensors, rec.rows):
        inside = [name for (name, _), r in zip(passes, reach) if id(t) in r]
        row["phase"] = inside[0] if len(inside) == 1 else ("shared" if inside else "loss")
    for name, (_, _, logits) in passes:
        if logits is not None and rec.row_of(logits):
            rec.row_of(logits)["note"] = "<- logits"
    # D's first op on the generated batch: the tensor it took as input is the batch itself
    cut = next((t.creator for t in rec.tensors if t.creator is not None
                and any(getattr(x, "data", None) is fake.data for x in t.creator.inputs)), None)
    if cut is not None:
        fake = next(x for x in cut.inputs if getattr(x, "data", None) is fake.data)
    g_ids = {id(p) for p in trainer.G.parameters()}
    labels = {"real": "real batch x", "generated": "generated batch"}
    leaves = {id(x): labels.get(row["phase"], "input")
              for t, row in zip(rec.tensors, rec.rows) if t.creator is not None
              for x in t.creator.inputs if isinstance(x, Tensor) and x.creator is None}
    if cut is not None:
        leaves[id(fake)] = "G(z), made under no_grad:\nthe cut, a leaf"
    terms = {"real": "BCE(D(x), 1)", "generated": "BCE(D(G(z)), 0)", "penalty": "the penalty"}
    notes = {id(rec.tensor_of(loss)): terms[name] for name, (loss, _, _) in passes
             if rec.tensor_of(loss) is not None}
    graph = backward_graph(rec.tensors, rec.names, grad_norms=[r["grad_norm"] for r in rec.rows],
                           indices=[r["index"] for r in rec.rows],
                           phases=[r["phase"] for r in rec.rows],
                           part_of=lambda i, t: "penalty" if rec.rows[i]["phase"] == "penalty"
                           else "D",
                           leaves=leaves, notes=notes, name="d_step")
    return {
        "graph": graph,
        "passes": {name: {"loss": float(loss.item()),
                          "class_loss": None if cls is None else float(cls.item()),
                          "logits": [] if logits is None else _host(logits.data).ravel().tolist()}
                   for name, (loss, cls, logits) in passes},
        "penalty_rows": None if update["penalty"] is None else update["penalty"].rows,
        "rows": rec.rows, "grad_norm_start": {k: before[k] for k in "GD"},
        "grad_norm_end": {k: after[k] for k in "GD"},
        "g_tensors_reached": sum(id(t) in g_ids for t in rec.tensors),
        "g_grads_untouched": all(a is b for a, b in zip(before["G_grads"], after["G_grads"])),
        "g_unchanged": same_state(before["G_state"], after["G_state"]),
        "d_max_change": max_change(before["D_state"], after["D_state"]),
        "cut": None if cut is None else {
            "fake_creator": None if fake.creator is None else type(fake.creator).__name__,
            "fake_requires_grad": fake.requires_grad, "fake_shape": tuple(fake.shape),
            "op": type(cut).__name__, "needs_grad": tuple(cut.needs_grad)},
    }


def _d_updates(trainer, d_steps, updates):
    """Each D update of the step, summarised, with the passes it trained on: both for
    d_update "joint", the real pass and then the generated one for "split"."""
    out = []
    for step, d in enumerate(d_steps, start=1):
        real = ("real", (d.real_loss, d.real_class_loss, d.real_logits))
        generated = ("generated", (d.fake_loss, d.fake_class_loss, d.fake_logits))
        groups = [[real, generated]] if trainer.d_update == "joint" else [[real], [generated]]
        if d.penalty is not None:              # it joins the update it was computed for
            groups[-1].append(("penalty", (d.penalty, None, None)))
        for passes in groups:
            summary = _d_update(trainer, updates.pop(0), passes, d.fake)
            summary["step"] = step
            out.append(summary)
    return out


def _g_step(trainer, g_step, update):
    """The summary of the G update: D's state compared before and after, and both G losses'
    gradients at D's logits."""
    rec, before, after = update["recorder"], update["before"], update["after"]
    fake, logits = g_step.fake, g_step.logits
    at = next(i for i, t in enumerate(rec.tensors) if t.data is fake.data)   # after it: G's
    for i, row in enumerate(rec.rows):
        row["phase"] = "G" if i >= at else "D"
    rec.rows[at]["note"] = "<- G(z), D's input"
    rec.row_of(logits)["note"] = "<- logits"

    # Both G losses' gradients at these logits, from the library, on copies (not part of the step).
    grads = {}
    for kind in GENERATOR_LOSSES:
        copy = Tensor(logits.data.copy(), requires_grad=True)
        generator_loss(copy, kind).backward()
        grads[kind] = _host(copy.grad).ravel()
    mm, ns = grads["minimax"], grads["non-saturating"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ns / mm
    d_ids = {id(p) for p in trainer.D.parameters()}
    frozen = {id(p): "frozen: no gradient" for p in trainer.D.parameters()}
    frozen[id(rec.tensors[at])] = "G(z), D's input"
    graph = backward_graph(rec.tensors, rec.names, grad_norms=[r["grad_norm"] for r in rec.rows],
                           indices=[r["index"] for r in rec.rows],
                           phases=[r["phase"] for r in rec.rows],
                           part_of=lambda i, t: rec.rows[i]["phase"],
                           leaves={id(x): "labels" if x.data.dtype.kind in "iu" else "z"
                                   for t in rec.tensors if t.creator is not None
                                   for x in t.creator.inputs if isinstance(x, Tensor)
                                   and x.creator is None and id(x) not in d_ids},
                           notes=frozen, name="g_step")
    return {
        "graph": graph,
        "loss": float(g_step.loss.item()),
        "class_loss": None if g_step.class_loss is None else float(g_step.class_loss.item()),
        "rows": rec.rows,
        "grad_norm_start": {k: before[k] for k in "GD"},
        "grad_norm_end": {k: after[k] for k in "GD"},
        "d_input_grad_norm": rec.rows[at]["grad_norm"],
        "d_tensors_reached": sum(id(t) in d_ids for t in rec.tensors),
        "d_grads_untouched": all(a is b for a, b in zip(before["D_grads"], after["D_grads"])),
        "d_unchanged": same_state(before["D_state"], after["D_state"]),
        "d_arrays_compared": len(before["D_state"]),
        "d_buffers": [n for n, _ in trainer.D.named_buffers()],
        "g_max_change": max_change(before["G_state"], after["G_state"]),
        "logits": _host(logits.data).ravel().tolist(),
        "d_of_g_z": _host(stable_sigmoid(logits.data)).ravel().tolist(),
        "grad_minimax": mm.tolist(), "grad_non_saturating": ns.tolist(),
        "mean_abs_minimax": float(np.abs(mm).mean()),
        "mean_abs_non_saturating": float(np.abs(ns).mean()),
        "ratio": ratio.tolist(),              # per sample: non-saturating / minimax = 1/D - 1
        "traced_logit_grad_norm": rec.row_of(logits)["grad_norm"],
        "used_logit_grad_norm": float(np.sqrt((grads[trainer.game] ** 2).sum())),
        "naive": _naive_failures("G step", _host(logits.data).ravel().tolist()),
    }


# --- the step ----------------------------------------------------------------------------------
def trace_step(trainer, data, batch_size=8, labels=None, *, max_lines=None, dot=None, draw=None,
               graph="g", grads=False, out=print):
    """Run one step of Algorithm 1 (trainer.k D updates, one G update) on `data`: the trainer's
    own train_step, watched. Print the trace through `out` (None: silent) and return it as a
    dict: "d_updates" (one per D optimiser step), "g_step", "naive", "text", and "dot" if `dot`
    or `draw` was given. max_lines: at most this many tensor rows per table.

    Each D update and the G step carry their "graph" (backward_graph: what minigan.graph
    draws). dot: write one of them as Graphviz text to this file; draw: as a picture (.svg,
    .png or .pdf; without Graphviz, one line says what is missing, then the DOT text follows
    and result["drawn"] is None). graph: "g" (the G step) or "d" (the first D update, with a
    gradient penalty's double backward when there is one); grads: label each node with the
    norm of its gradient."""
    from . import graph as drawing
    if graph not in ("g", "d"):
        raise ValueError(f"graph must be 'g' (the G step) or 'd' (the first D update), "
                         f"got {graph!r}")
    data = check_data(trainer, data, batch_size)
    labels = check_labels(trainer, labels, len(data))
    trainer.G.train()
    trainer.D.train()
    names = {id(p): f"G.{n}" for n, p in trainer.G.named_parameters()}
    names.update({id(p): f"D.{n}" for n, p in trainer.D.named_parameters()})
    start_step = trainer.steps_done
    d_steps, g, updates = _watched_step(trainer, data, batch_size, labels, names)
    d_updates = _d_updates(trainer, d_steps, updates)
    g = _g_step(trainer, g, updates.pop(0))
    naive = [f for u in d_updates for name, p in u["passes"].items()
             for f in _naive_failures(f"D update {u['step']}, {name} batch", p["logits"])]
    naive += g["naive"]
    lines = []

    def say(text=""):
        lines.append(text)
        if out is not None:
            out(text)

    _print_trace(say, trainer, start_step, batch_size, d_updates, g, naive, max_lines)
    result = {"d_updates": d_updates, "g_step": g, "naive": naive}
    chosen = g["graph"] if graph == "g" else d_updates[0]["graph"]
    what = "G step's" if graph == "g" else "first D update's"
    if dot is not None or draw is not None:
        result["dot"] = drawing.to_dot(chosen, grads, GRAPH_TITLES[graph])
    if dot is not None:
        text = result["dot"].encode("utf-8")
        atomic_write(dot, lambda f: f.write(text))
        say(f"{what} graph written to {dot} (draw it: dot -Tsvg {dot} -o graph.svg, or --draw)")
    if draw is not None:
        if drawing.missing() is None:
            result["drawn"] = drawing.render(chosen, draw, grads, GRAPH_TITLES[graph])
            say(f"{what} graph drawn to {draw}")
        else:
            result["drawn"] = None
            say(result["dot"].rstrip())
            say(f"minigan.trace: cannot draw {draw}: {drawing.missing()}; the graph as DOT text "
                f"is above")
    result["text"] = "\n".join(lines)
    return result


GRAPH_TITLES = {"g": "the G step: L_G -> D (frozen) -> G(z) -> G's parameters",
                "d": "the D step: L_D -> D on the real and the generated batch"}


# --- printing ------------------------------------------------------------------------------------
def _print_trace(say, trainer, start_step, batch_size, d_updates, g, naive, max_lines):
    say(f"minigan.trace: one step of Algorithm 1 on {trainer.device}, the trainer at step "
        f"{start_step}: {trainer.k} D update(s), then one G update")
    say(f"m={batch_size}, d_update={trainer.d_update!r}, {trainer.game} G loss; "
        f"G: {trainer.G.num_parameters()} parameters, D: {trainer.D.num_parameters()}")
    say("Tables: the tensors each backward() reached, grouped by phase; # is backward()'s order.")
    say("op: the Function that made the tensor, or the parameter; mean..max: the tensor's values;")
    say("|grad|: the norm of its complete gradient dL/d(tensor).")
    for u in d_updates:
        if u["step"] == 1:
            _print_d_update(say, u, trainer, max_lines)
        else:
            _print_d_summary(say, u, trainer)
    _print_g_step(say, g, trainer, max_lines)
    say()
    say(f"naive sigmoid-then-log BCE in float32 (ln(1-p) breaks for l > {NAIVE_LOG_1MP_LIMIT:.2f},"
        f" ln p for l < {NAIVE_LOG_P_LIMIT:.2f}): " + ("none" if not naive else
                                                      f"{len(naive)} logit(s)"))
    for f in naive:
        say(f"  {f['phase']}, sample {f['sample']}: logit {f['logit']:.4g}: {f['breaks']} breaks")


HEADER = (f"{'#':>4}  {'op / parameter':<29}{'shape':<15}{'mean':>9}{'std':>9}{'min':>9}"
          f"{'max':>9}{'|grad|':>10}")


def _row_text(r):
    values = (f"{r['mean']:>9.3g}{'':>27}" if r["shape"] == () else
              f"{r['mean']:>9.3g}{r['std']:>9.3g}{r['min']:>9.3g}{r['max']:>9.3g}")
    return (f"{r['index']:>4}  {r['op']:<29}{str(r['shape']):<15}{values}{r['grad_norm']:>10.4g}"
            f"  {r['note']}").rstrip()


def _table(say, rows, max_lines, boundary=None, boundary_lines=()):
    """Print rows (at most max_lines, plus the boundary row: the first and last ones); the
    `boundary_lines` go right before the row whose index is `boundary`."""
    keep = set(range(len(rows)))
    if max_lines and len(rows) > max_lines:
        head = (max_lines + 1) // 2
        keep = set(range(head)) | set(range(len(rows) - (max_lines - head), len(rows)))
        keep |= {i for i, r in enumerate(rows) if r["index"] == boundary}
    left_out = 0
    for i, r in enumerate(rows):
        if i not in keep:
            left_out += 1
            continue
        if left_out:
            say(f"  ... {left_out} rows left out (--max-lines {max_lines}) ...")
            left_out = 0
        if r["index"] == boundary:
            for text in boundary_lines:
                say(text)
        say(_row_text(r))


def _losses_text(u):
    what = {"real": "real BCE(D(x), 1)", "generated": "generated BCE(D(G(z)), 0)",
            "penalty": "the gradient penalty"}
    parts = [f"{what[name]} {p['loss']:.4f}" + (
        "" if p["class_loss"] is None else f" + class CE {p['class_loss']:.4f}")
        for name, p in u["passes"].items()]
    total = sum(p["loss"] + (p["class_loss"] or 0.0) for p in u["passes"].values())
    return " + ".join(parts) + f" = {total:.4f}"


def _print_d_update(say, u, trainer, max_lines):
    passes = list(u["passes"])
    say()
    say(f"=== D update {u['step']}/{trainer.k} (d_update={trainer.d_update!r}): " + (
        "real + generated passes, one optimiser step" if "generated" in passes and
        "real" in passes else f"the {passes[0]} pass alone") +
        (f", with the {trainer.penalty} penalty" if "penalty" in passes else "") + " ===")
    s = u["grad_norm_start"]
    say(f"start: |G.grad| {_num(s['G'])}, |D.grad| {_num(s['D'])}   (d_optimizer.zero_grad: "
        f"D's -> None; G's left alone)")
    say("loss: " + _losses_text(u))
    say(HEADER)
    _print_penalty_first_backward(say, u, trainer, max_lines)
    titles = {"loss": "the loss, a sum of its terms: one Add per +",
              "real": "phase 1: D on the real batch",
              "generated": "phase 2: D on the generated batch",
              "penalty": "the penalty, the second backward: back through the recorded first "
                         "backward and D's own forward on the penalty's batch",
              "shared": "D's parameters: one gradient each, the sum over all passes"}
    for phase in ["loss", *passes, "shared"]:
        rows = [r for r in u["rows"] if r["phase"] == phase]
        if not rows:
            continue
        say(f"  -- {titles[phase]}")
        _table(say, rows, max_lines)
        if phase == "generated" and u["cut"] is not None:
            c = u["cut"]
            say(f"  {'-' * 30} {BOUNDARY}: the cut {'-' * 30}")
            say(f"     the generated batch {c['fake_shape']}: creator {c['fake_creator']}, "
                f"requires_grad {c['fake_requires_grad']}: a leaf, made under no_grad")
            say("     (the same cut as G(z).detach(), without building G's graph first)")
            say(f"     D's first op on it, {c['op']}, recorded needs_grad {c['needs_grad']} "
                f"(one per input, the batch first): no gradient for the batch,")
            say(f"     backward stops here. G's tensors reached by this backward: "
                f"{u['g_tensors_reached']}")
    e = u["grad_norm_end"]
    say(f"end:   |G.grad| {_num(e['G'])} (untouched, the same arrays: {u['g_grads_untouched']}),"
        f" |D.grad| {_num(e['D'])}")
    say(f"G's weights bit-for-bit unchanged by this D update: {u['g_unchanged']}; D's moved: "
        f"max |change| {u['d_max_change']:.3g}")


def _print_penalty_first_backward(say, u, trainer, max_lines):
    """The rows of a penalty's recorded first backward (dD/dx), if this update carries one."""
    if u["penalty_rows"]:
        say(f"  -- the {trainer.penalty} penalty's first backward, recorded: minigan.grad(D(x)."
            f"sum(), x, create_graph=True), run before this update; its gradients are Tensors "
            f"(|grad| of their values)")
        _table(say, u["penalty_rows"], max_lines)


def _print_d_summary(say, u, trainer):
    s, e = u["grad_norm_start"], u["grad_norm_end"]
    say(f"D update {u['step']}/{trainer.k} ({' + '.join(u['passes'])}): {_losses_text(u)}")
    say(f"  |D.grad| {_num(s['D'])} (cleared) -> {_num(e['D'])}; {len(u['rows'])} tensors "
        f"reached, {u['g_tensors_reached']} of G; G's .grad untouched: {u['g_grads_untouched']};"
        f" G unchanged: {u['g_unchanged']}")


def _print_g_step(say, g, trainer, max_lines):
    say()
    say(f"=== phase 3, the G step: G through a frozen D, {trainer.game} loss, "
        f"fresh z ===")
    s = g["grad_norm_start"]
    say(f"start: |G.grad| {_num(s['G'])} (g_optimizer.zero_grad: -> None), |D.grad| "
        f"{_num(s['D'])} (from the D update)")
    say(f"loss: L_G {g['loss']:.4f}" + (
        "" if g["class_loss"] is None else f" + class CE {g['class_loss']:.4f}"))
    say(HEADER)
    at = next(r["index"] for r in g["rows"] if r["phase"] == "G")
    mark = (f"  {'-' * 8} {BOUNDARY}: above, D's ops (frozen); below, G's; "
            f"|dL_G/dG(z)| = {g['d_input_grad_norm']:.4g} {'-' * 8}")
    _table(say, g["rows"], max_lines, boundary=at, boundary_lines=[mark])
    e = g["grad_norm_end"]
    say(f"gradient at D's input G(z): norm {g['d_input_grad_norm']:.4g}; D's parameters reached "
        f"by this backward: {g['d_tensors_reached']}")
    say(f"end:   |G.grad| {_num(e['G'])}, |D.grad| {_num(e['D'])} (untouched, the same arrays: "
        f"{g['d_grads_untouched']})")
    buffers = (f", {len(g['d_buffers'])} of them BatchNorm running statistics"
               if g["d_buffers"] else "; D has no BatchNorm")
    say(f"D bit-for-bit unchanged after the G step: {g['d_unchanged']} (state_dict, "
        f"{g['d_arrays_compared']} arrays{buffers})")
    say(f"G's weights moved: max |change| {g['g_max_change']:.3g}")
    say("both G losses at these logits l, per sample (D(G(z)) = sigmoid(l); dL/dl includes the "
        "mean's 1/m):")
    n = min(8, len(g["logits"]))
    for label, key, fmt in (("D(G(z))", "d_of_g_z", ".4f"),
                            ("minimax dL/dl", "grad_minimax", ".3g"),
                            ("non-sat. dL/dl", "grad_non_saturating", ".3g"),
                            ("ratio ns/mm", "ratio", ".4g")):
        more = " ..." if len(g[key]) > n else ""
        say(f"  {label:<15}" + " ".join(f"{v:>9{fmt}}" for v in g[key][:n]) + more)
    ratio = g["mean_abs_non_saturating"] / g["mean_abs_minimax"]
    say(f"  mean |dL/dl|: minimax {g['mean_abs_minimax']:.4g}, non-saturating "
        f"{g['mean_abs_non_saturating']:.4g}, ratio {ratio:.4g} (per sample: 1/D(G(z)) - 1)")
    say(f"  norm of the {trainer.game} row {g['used_logit_grad_norm']:.4g} = |grad| of "
        f"the logits in the traced backward {g['traced_logit_grad_norm']:.4g}")


# --- the command line ----------------------------------------------------------------------------
def default_trainer(data="sine", loss="non-saturating", k=1, seed=0, device="cpu",
                    checkpoint=None, penalty=None, gamma=0.1):
    """examples/gan_2d.py's default networks, trainer and data (1024 points); with `checkpoint`
    (a checkpoint.npz that example wrote), restored to that trained state."""
    manual_seed(seed)                                   # the networks' initial weights
    points = make_2d(data, 1024, seed=seed, device=device).points
    G = Generator(latent_dim=2, data_dim=2, hidden=(64, 64)).to(device)
    D = Discriminator(data_dim=2, hidden=(128, 128)).to(device)
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=2e-4), Adam(D.parameters(), lr=2e-4),
                         k=k, generator_loss=loss, seed=seed, penalty=penalty, gamma=gamma)
    if checkpoint is not None:
        trainer.load_checkpoint(checkpoint)
    return trainer, points


def main(argv=None):
    """The command line; errors give one line ("minigan.trace: error: ...")."""
    return cli.run(_main, "python -m minigan.trace", argv)


def _main(argv):
    p = cli.parser("python -m minigan.trace", __doc__.split("\n")[0])
    p.add_argument("--data", choices=DATASETS, default="sine")
    p.add_argument("--loss", choices=GENERATOR_LOSSES, default="non-saturating")
    p.add_argument("--k", type=cli.positive_int, default=1,
                   help="D updates (the first printed in full)")
    p.add_argument("--penalty", choices=("none",) + PENALTIES, default="none",
                   help="a gradient penalty on D: its recorded first backward is traced too")
    p.add_argument("--gamma", type=cli.non_negative_float, default=None,
                   help="the penalty's weight (default: 0.1 for r1 and r2, 10 for gp)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--checkpoint", default=None,
                   help="a checkpoint.npz from examples/gan_2d.py (default networks) to trace")
    p.add_argument("--batch-size", type=cli.positive_int, default=8,
                   help="m, small to keep the trace short")
    p.add_argument("--dot", default=None, help="write the step's graph here (Graphviz text)")
    p.add_argument("--draw", default=None,
                   help="draw the step's graph to this .svg, .png or .pdf (needs Graphviz: pip "
                        "install graphviz, apt-get install graphviz)")
    p.add_argument("--graph", choices=("g", "d"), default="g",
                   help="which graph --dot and --draw give: the G step, or the first D update "
                        "(with --penalty, its double backward)")
    p.add_argument("--grads", action="store_true",
                   help="label the graph's nodes with their gradients' norms")
    p.add_argument("--overwrite", action="store_true", help="replace --dot or --draw if it exists")
    p.add_argument("--max-lines", type=cli.positive_int, default=None,
                   help="at most this many rows per table")
    args = p.parse_args(argv)
    if args.checkpoint is not None and os.path.isdir(args.checkpoint):
        p.error(f"--checkpoint {args.checkpoint} is a folder; give the checkpoint.npz in it")
    if args.checkpoint is not None and not os.path.isfile(args.checkpoint):
        p.error(f"--checkpoint {args.checkpoint}: no such file")
    if args.dot is not None:
        cli.check_new_file(p, "--dot", args.dot, args.overwrite)
    if args.draw is not None:
        from .graph import FORMATS
        cli.check_new_file(p, "--draw", args.draw, args.overwrite, suffixes=FORMATS)
    penalty = None if args.penalty == "none" else args.penalty
    gamma = args.gamma if args.gamma is not None else (10.0 if penalty == "gp" else 0.1)
    trainer, points = default_trainer(args.data, args.loss, args.k, args.seed, args.device,
                                      args.checkpoint, penalty, gamma)
    result = trace_step(trainer, points, args.batch_size, max_lines=args.max_lines, dot=args.dot,
                        draw=args.draw, graph=args.graph, grads=args.grads)
    if args.draw is not None and result["drawn"] is None:
        sys.exit(1)                               # asked for a picture, gave the DOT text only
    return result


if __name__ == "__main__":
    main()
