"""minigan.gan.schedule.LinearDecay: the rates it sets, step by step, and its refusals."""
import numpy as np
import pytest

from minigan import Tensor
from minigan.nn import Dense
from minigan.optim import SGD, Adam
from minigan.gan.schedule import LinearDecay


def test_linear_decay_rates_step_by_step():
    layer = Dense(2, 1)
    opt = Adam(layer.parameters(), lr=1e-3)
    schedule = LinearDecay(opt, total_steps=4)
    rates = [opt.lr]                      # iteration 0 runs at lr_0
    for _ in range(5):
        rates.append(schedule.step())
    assert rates == pytest.approx([1e-3, 7.5e-4, 5e-4, 2.5e-4, 0.0, 0.0])
    assert opt.lr == 0.0


def test_the_optimiser_uses_the_scheduled_rate():
    """SGD without momentum moves p by exactly lr * grad: the step after a decay is smaller."""
    layer = Dense(1, 1, bias=False)
    layer.weight.data[...] = 1.0
    opt = SGD(layer.parameters(), lr=0.1)
    schedule = LinearDecay(opt, total_steps=2)
    x = Tensor(np.ones((1, 1), dtype=np.float32))
    moves = []
    for _ in range(3):
        before = float(layer.weight.data[0, 0])
        opt.zero_grad()
        layer(x).sum().backward()         # d(w x)/dw = 1
        opt.step()
        schedule.step()
        moves.append(before - float(layer.weight.data[0, 0]))
    assert moves == pytest.approx([0.1, 0.05, 0.0])


@pytest.mark.parametrize("total", [0, -1, 2.5, True])
def test_bad_total_steps_are_refused(total):
    opt = Adam(Dense(2, 1).parameters())
    with pytest.raises(ValueError, match="total_steps must be an integer >= 1"):
        LinearDecay(opt, total)
