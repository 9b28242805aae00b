"""The fast paths of minigan/fast/ give the plain rules' numbers, bit for bit, on every device
(Adam's moments too, except those its CPU flush sets to 0: optim.py's Adam.step says exactly
what differs), and the malloc settings of fast/memory.py do what they say."""
import platform
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan import backend
from minigan.fast.adam import FLUSH_EVERY
from minigan.fast.col2im import col2im_by_group
from minigan.functions.convolution import col2im, conv_output_size
from minigan.nn import Dense, Parameter, Sequential
from minigan.optim import Adam


# --- Adam: all parameters in two flat vectors, against update_one per parameter -----------------

def run_adam(device, flat, steps=12, skip=()):
    """A two-layer net's parameters after `steps` Adam steps on seeded random gradients, some
    of them exactly zero; at the steps in `skip` the last parameter gets no gradient."""
    minigan.manual_seed(0)
    net = Sequential(Dense(4, 3), Dense(3, 2)).to(device)
    opt = Adam(net.parameters(), lr=1e-2, betas=(0.9, 0.99), flat=flat)
    paths = []
    for step in range(steps):
        for i, p in enumerate(net.parameters()):
            g = minigan.Random(10 * step + i, device).normal(p.shape)
            p.grad = g * (g > -1.0)                 # about one gradient in six exactly 0
        if step in skip:
            net.parameters()[-1].grad = None
        opt.step()
        paths.append(opt.together is not None)
    return net, opt, paths


def assert_same(net_a, opt_a, net_b, opt_b):
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())
    for p_a, p_b in zip(opt_a.params, opt_b.params):
        m_a, v_a, t_a = opt_a.state[id(p_a)]
        m_b, v_b, t_b = opt_b.state[id(p_b)]
        assert np.array_equal(backend.to_numpy(m_a), backend.to_numpy(m_b))
        assert np.array_equal(backend.to_numpy(v_a), backend.to_numpy(v_b))
        assert t_a == t_b


def test_flat_adam_gives_update_ones_numbers(device):
    fast = run_adam(device, flat=True)
    plain = run_adam(device, flat=False)
    assert all(fast[2]) and not any(plain[2])       # each took its own path at every step
    assert_same(fast[0], fast[1], plain[0], plain[1])
    assert not np.array_equal(fast[0].parameters()[0].numpy(),
                              run_adam(device, True, steps=11)[0].parameters()[0].numpy())


def test_flat_adam_falls_back_when_a_parameter_skips_a_step_with_the_same_numbers(device):
    # Step 3 leaves the last parameter without a gradient: the plain loop runs; from then on
    # the step counts differ (the last parameter is one behind), so the plain loop stays.
    fast = run_adam(device, flat=True, skip=(3,))
    plain = run_adam(device, flat=False, skip=(3,))
    assert fast[2] == [True] * 3 + [False] * 9
    assert_same(fast[0], fast[1], plain[0], plain[1])
    assert fast[1].state[id(fast[1].params[-1])][2] == 11


def test_flat_adam_resumes_together_once_the_counts_agree(xp):
    a, b = Parameter(xp.zeros(3)), Parameter(xp.zeros(2))
    opt = Adam([a, b], lr=0.1)
    a.grad, b.grad = xp.ones(3), xp.ones(2)
    opt.step()                                       # together
    assert opt.together is not None
    b.grad = None
    opt.step()                                       # b skips: one at a time
    assert opt.together is None and opt.state[id(a)][2] == 2 and opt.state[id(b)][2] == 1
    b.grad = xp.ones(2)
    opt.step()                                       # counts differ: still one at a time
    assert opt.together is None and opt.state[id(b)][2] == 2
    # b's moments saw two gradients of 1 at steps 1 and 3: its update is still lr * sign(g)
    np.testing.assert_allclose(b.numpy(), [-0.2, -0.2], rtol=1e-6)


def test_flat_adam_flushes_subnormal_moments_on_the_cpu():
    """A gradient that stops (a dead unit's) lets m shrink by b1 per step: after 135 halvings
    from 0.5 it is ~2e-41, a float32 subnormal, which CPUs compute on very slowly. Every
    FLUSH_EVERY steps the flat path sets such moments to 0 (the step they would make is
    ~1e-33, nothing next to the parameter)."""
    def run(flat):
        p = Parameter(np.ones(1000, dtype="float32"))
        opt = Adam([p], lr=1e-3, betas=(0.5, 0.999), flat=flat)
        p.grad = np.ones(1000, dtype="float32")
        opt.step()
        after_first = p.numpy().copy()
        p.grad = np.zeros(1000, dtype="float32")
        for _ in range(135):                       # to t = 136, a multiple of FLUSH_EVERY
            opt.step()
        assert opt.t % FLUSH_EVERY == 0
        assert (p.numpy() < after_first).all()     # zero-gradient steps move p while m is normal
        return p, opt.state[id(p)][:2]

    p, (m, v) = run(flat=True)
    assert (m == 0).all()                          # unflushed: 0.5 * 0.5**135, subnormal
    assert (v > np.finfo(np.float32).tiny).all()   # v (b2 = 0.999) is still a normal number
    p_plain, (m_plain, _) = run(flat=False)
    assert (m_plain > 0).all() and (m_plain < np.finfo(np.float32).tiny).all()   # subnormal
    assert np.array_equal(p.numpy(), p_plain.numpy())   # and the parameters are the same


# --- col2im: a group of kernel offsets per addition, against one per offset ---------------------

@pytest.mark.parametrize("k, s, hw", [(4, 2, (16, 16)), (3, 2, (7, 6)), (3, 1, (9, 9)),
                                      (5, 3, (14, 11))])
def test_col2im_by_group_gives_col2ims_numbers(xp, k, s, hw):
    """On the CPU both run here; on the GPU, col2im itself takes the grouped path, and is
    compared with the plain loop on the host."""
    out_h, out_w = conv_output_size(hw[0], k, s, 0), conv_output_size(hw[1], k, s, 0)
    host = np.random.default_rng(1).standard_normal((3, k, k, 2, out_h, out_w)).astype("float32")
    plain = col2im(host, hw, s)                     # NumPy: the plain loop
    assert plain.shape == (3, 2) + hw
    assert np.array_equal(backend.to_numpy(col2im_by_group(xp.asarray(host), hw, s)), plain)
    assert np.array_equal(backend.to_numpy(col2im(xp.asarray(host), hw, s)), plain)


# --- glibc keeps the memory a step frees ----------------------------------------------------------

FAULTS = """
import resource, sys
import numpy as np
from minigan.fast.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
faults = []
for _ in range(2):                      # a 24 MiB array made and freed, as a step's columns are
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(6 * 2 ** 20, dtype="float32")
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    del a
print(applied, faults[1])
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="the malloc settings are glibc's")
def test_keep_freed_memory_lets_the_next_step_reuse_pages():
    """Fresh processes: without the settings malloc hands the first 24 MiB array back to the
    system when it dies, and the second comes as fresh pages, each faulted in on its first
    write; with them, the second reuses the memory the first freed."""
    def run(mode):
        out = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True,
                             check=True).stdout.split()
        return out[0] == "True", int(out[1])
    applied, kept = run("keep")
    _, fresh = run("default")
    assert applied and fresh > 100 and kept < fresh / 10
