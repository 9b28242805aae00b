"""Adam for all parameters at once: Adam.update_one's arithmetic on two flat vectors.

What it speeds up. The plain rule (minigan/optim.py) is a dozen array operations per parameter,
and a GAN's networks have a dozen parameters or more: on the GPU each operation is a kernel
launch, on the CPU a call with a fixed cost, so for small networks the count matters more than
the arithmetic. Here the m and v of every parameter live in two flat vectors (each parameter's
state holds views of its piece), the gradients are copied into a third, and the update is a
dozen operations in all, written into reused buffers (``out=``) instead of fresh temporaries.
Element by element the operations are the plain rule's, in the same order, so the parameters, m
and v are the plain rule's, bit for bit (tests/test_fast.py) -- except for the flush below.

When. Every parameter has a gradient, all share one device and dtype, and all have had the same
number of updates t (the usual case). Otherwise Adam.step() takes the plain loop.

The flush (the CPU only). A weight whose gradient stays exactly 0 (a dead ReLU unit's) has m
shrink by b1 and v by b2 per step, into float32's subnormal range (below 1.2e-38), where they then
stay for 23 / log2(1 / b) steps: 151 for m at b1 = 0.9, some 16 000 for v at b2 = 0.999. Many x86
CPUs compute on subnormals through a slow path (how slow depends on the CPU:
benchmarks/results/fast_paths.md measures it). Such an m moves its weight by ~lr 1e-38 / eps,
nothing; so every FLUSH_EVERY updates, this path sets subnormal m and v to 0, where the plain rule
keeps them. Those moments then differ from the plain rule's (0 against a subnormal); the
parameters do not, except in the corner cases Adam.step() names (a weight within ~1e-30 lr / eps
of 0, a gradient that comes back below ~1e-13). Not every step: the check is five passes over
the state, a cost for big networks. GPUs handle subnormals at full speed: there it would only
add kernel launches.
"""
import itertools
import math

from .. import backend
from ..backend import get_array_module

FLUSH_EVERY = 8        # updates (t) between flushes of subnormal moments on the CPU


def step_together(adam):
    """Adam.step() for all parameters at once; False (nothing done) when they cannot."""
    if any(p.grad is None for p in adam.params):
        return False
    if adam.together is None:
        if not can_step_together(adam):
            return False
        adam.together = FlatMoments(adam)
    adam.steps += 1
    flat = adam.together
    t = adam.state[id(adam.params[0])][2] + 1       # every parameter's t: they step together
    get_array_module(flat.grad).concatenate([p.grad.ravel() for p in adam.params], out=flat.grad)
    step = _step(adam, flat.m, flat.v, flat.grad, t, out=flat.work)
    for p, (start, stop) in zip(adam.params, flat.bounds):
        p.data -= step[start:stop].reshape(p.shape)
        adam.state[id(p)][2] = t
        p.mark_modified()
    return True


def _step(adam, m, v, g, t, out):
    """Update m and v in place; return lr m_hat / (sqrt(v_hat) + eps), computed in `out`.
    The operations of Adam.update_one, each written into m, v or out, plus the flush."""
    xp = get_array_module(m)
    m *= adam.b1
    m += xp.multiply(g, 1 - adam.b1, out=out)           # m <- b1 m + (1 - b1) g
    v *= adam.b2
    out = xp.multiply(g, g, out=out)
    out *= 1 - adam.b2
    v += out                                             # v <- b2 v + (1 - b2) g^2
    if t % FLUSH_EVERY == 0 and not backend.is_cupy(xp):
        tiny = xp.finfo(m.dtype).tiny                    # the smallest normal number
        xp.copyto(m, 0, where=xp.abs(m, out=out) < tiny)
        xp.copyto(v, 0, where=v < tiny)
    denominator = xp.sqrt(v, out=out)
    denominator *= 1 / math.sqrt(1 - adam.b2 ** t)      # sqrt(v_hat)
    denominator += adam.eps                              # sqrt(v_hat) + eps
    step = xp.divide(m, denominator, out=out)
    step *= adam.lr / (1 - adam.b1 ** t)                 # lr m_hat / (sqrt(v_hat) + eps)
    return step


# --- the bookkeeping: the flat vectors, and when the parameters can use them -------------------

class FlatMoments:
    """One Adam's m and v in two flat vectors, two work vectors, and each parameter's slice."""

    def __init__(self, adam):
        first = adam.params[0].data
        xp = get_array_module(first)
        states = [adam.state.get(id(p)) for p in adam.params]
        ends = list(itertools.accumulate(p.data.size for p in adam.params))
        self.bounds = list(zip([0] + ends[:-1], ends))       # parameter i is flat[start:stop]
        # m, then v: the saved ones, or zeros for a first step
        self.m, self.v = (xp.concatenate([s[k].ravel() if s else xp.zeros(p.data.size, first.dtype)
                                          for p, s in zip(adam.params, states)])
                          for k in (0, 1))
        self.grad, self.work = xp.empty_like(self.m), xp.empty_like(self.m)
        for p, s, (start, stop) in zip(adam.params, states, self.bounds):
            adam.state[id(p)] = [self.m[start:stop].reshape(p.shape),
                                 self.v[start:stop].reshape(p.shape), s[2] if s else 0]


def can_step_together(adam):
    """Whether the parameters share one device and dtype and have had as many updates (t)."""
    first = adam.params[0].data
    xp = get_array_module(first)
    return (all(p.data.dtype == first.dtype and get_array_module(p.data) is xp
                for p in adam.params)
            and len({adam.state[id(p)][2] if id(p) in adam.state else 0
                     for p in adam.params}) == 1)
