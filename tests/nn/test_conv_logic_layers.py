"""Convolutional logic layers in torch: hard trees equal a direct evaluation, soft relaxations, encodings."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nandc.encoding import check_thresholds, encode_input  # noqa: E402
from nandc.nn import gate_functions as gates  # noqa: E402
from nandc.nn.conv_logic import (  # noqa: E402
    PASS_A_FN, BooleanConv2d, LogicConv2d, OrPool2d, ThresholdInput,
)
from nandc.nn.gate_functions import LogicConfigError  # noqa: E402
from nandc.nn.harden import harden, is_hardened  # noqa: E402
from nandc.nn.soft_logic import binarization_penalty, set_straight_through, set_temperature  # noqa: E402


def direct_trees(x, layer):
    """Every gate of every tree at every position, one by one (zero padding, stride, dilation)."""
    x = x.numpy().astype(np.int64)
    n, cin, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    leaves, ops = layer.leaves.tolist(), layer.hard_ops().tolist()
    out = np.zeros((n, layer.out_channels, oh, ow), dtype=np.float32)
    for s in range(n):
        for o in range(layer.out_channels):
            for y in range(oh):
                for xx in range(ow):
                    level = []
                    for cell in leaves[o]:
                        c, rest = divmod(cell, kh * kw)
                        i, j = divmod(rest, kw)
                        r, col = y * sh - ph + i * dh, xx * sw - pw + j * dw
                        level.append(int(x[s, c, r, col]) if 0 <= r < h and 0 <= col < w else 0)
                    g = 0
                    while len(level) > 1:
                        nxt = []
                        for a, b in zip(level[0::2], level[1::2]):
                            nxt.append(gates.evaluate(ops[o][g], a, b))
                            g += 1
                        level = nxt
                    out[s, o, y, xx] = level[0]
    return torch.from_numpy(out)


def random_bits(shape, seed=0):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


@pytest.mark.parametrize("kernel, stride, padding, dilation, depth", [
    (3, 1, 1, 1, 3), (3, 2, 0, 1, 2), ((2, 3), (1, 2), (1, 0), 1, 1), (3, 1, 2, 2, 3), (1, 1, 0, 1, 2),
])
def test_eval_mode_is_the_hard_tree_evaluated_gate_by_gate(kernel, stride, padding, dilation, depth):
    layer = LogicConv2d(3, 4, kernel, depth=depth, stride=stride, padding=padding, dilation=dilation,
                        init_std=3.0, seed=7).eval()
    x = random_bits((5, 3, 7, 6))
    y = layer(x)
    assert torch.equal(y, direct_trees(x, layer))
    assert set(y.unique().tolist()) <= {0.0, 1.0}
    hard = harden(layer)
    assert isinstance(hard, BooleanConv2d) and torch.equal(hard(x), y)


def test_training_mode_is_soft_and_straight_through_forward_is_hard():
    layer = LogicConv2d(2, 3, 3, depth=2, padding=1, seed=1)
    x = random_bits((4, 2, 5, 5), seed=2)
    layer.train()
    soft = layer(x)
    assert not set(soft.unique().tolist()) <= {0.0, 1.0}
    penalty = layer.last_penalty.detach()
    assert float(penalty) > 0 and float(binarization_penalty(layer).detach()) == float(penalty)
    set_straight_through(layer, True)
    st = layer(x)
    st.sum().backward()
    assert torch.equal(st.detach(), layer.eval()(x))
    assert layer.function_logits.grad is not None and layer.function_logits.grad.abs().sum() > 0


def test_a_sharp_softmax_approaches_the_hard_layer():
    layer = LogicConv2d(2, 3, 3, depth=3, padding=1, seed=3)
    x = random_bits((3, 2, 6, 6), seed=4)
    set_temperature(layer, tau=1e-3, select_tau=0.5)  # the wiring temperature is accepted and ignored
    assert torch.allclose(layer.train()(x), layer.eval()(x), atol=1e-4)


def test_residual_init_starts_every_gate_as_a_pass_through():
    layer = LogicConv2d(2, 5, 3, depth=3, residual=100.0, seed=0)
    assert bool((layer.hard_ops() == PASS_A_FN).all())
    x = random_bits((2, 2, 5, 5))
    # each tree passes its first leaf through
    patches = torch.nn.functional.unfold(x, 3)
    assert torch.equal(layer.eval()(x).flatten(2), patches[:, layer.leaves[:, 0]])


def test_wiring_is_a_buffer_that_travels_in_the_state_dict():
    a = LogicConv2d(4, 6, 3, depth=3, seed=1)
    b = LogicConv2d(4, 6, 3, depth=3, seed=2)
    assert {"leaves", "function_logits"} <= set(a.state_dict())
    assert not torch.equal(a.leaves, b.leaves)
    b.load_state_dict(a.state_dict())
    x = random_bits((2, 4, 6, 6))
    assert torch.equal(a.eval()(x), b.eval()(x))
    # each tree reads at most channels_per_tree input channels; first-level pairs differ
    chans = a.leaves // 9
    assert all(len(set(row)) <= 2 for row in chans.tolist())
    assert bool((a.leaves[:, 0::2] != a.leaves[:, 1::2]).all())


def test_harden_leaves_no_soft_layer():
    model = torch.nn.Sequential(ThresholdInput([0.5]), LogicConv2d(1, 2, 3, seed=0), OrPool2d(2))
    hard = harden(model)
    assert is_hardened(hard) and not is_hardened(model)
    assert isinstance(hard[1], BooleanConv2d) and isinstance(model[1], LogicConv2d)
    assert torch.equal(hard.state_dict()["1.leaves"], model[1].leaves)
    assert torch.equal(hard.state_dict()["1.ops"], model[1].hard_ops())


def test_or_pool_is_or_on_bits_in_both_relaxations():
    x = random_bits((3, 2, 7, 7), seed=5)
    want = torch.nn.functional.max_pool2d(x, 3, 2, 1)
    for soft in ("max", "prob"):
        pool = OrPool2d(3, 2, 1, soft=soft)
        assert torch.equal(pool.train()(x), want) and torch.equal(pool.eval()(x), want)
    p = torch.full((1, 1, 2, 2), 0.5)
    assert torch.allclose(OrPool2d(2, soft="prob").train()(p), torch.tensor(1 - 0.5 ** 4))
    assert torch.allclose(OrPool2d(2, soft="prob").eval()(p), torch.tensor(0.5))


def test_threshold_input_is_a_thermometer_and_its_encoding_gives_the_same_bits():
    th = ThresholdInput([-0.5, 0.0, 0.25, 1.0])
    edges = np.array([-0.5, 0.0, -0.0, 0.25, 1.0, np.inf, -np.inf, 1e-45, -1e-45], dtype=np.float32)
    edges = np.concatenate([edges, np.nextafter(edges, np.float32(np.inf)), np.nextafter(edges, -np.float32(np.inf))])
    rng = np.random.default_rng(0)
    x = np.concatenate([edges, rng.standard_normal(200).astype(np.float32)]).astype(np.float32)
    x = x[: len(x) // 6 * 6].reshape(-1, 2, 1, 3)  # (N, C=2, H=1, W=3)
    bits = th(torch.from_numpy(x))
    assert bits.shape == (len(x), 8, 1, 3)
    for c in range(2):
        for k, t in enumerate([-0.5, 0.0, 0.25, 1.0]):
            assert torch.equal(bits[:, c * 4 + k], torch.from_numpy((x[:, c] > np.float32(t)).astype(np.float32)))
    enc = th.encoding()
    assert check_thresholds(enc) is None
    codes = encode_input(enc, x).astype(np.int64)
    got = (codes[:, :, None] >> np.arange(4)[None, None, :, None, None]) & 1
    assert np.array_equal(got.reshape(bits.shape), bits.numpy().astype(np.int64))


@pytest.mark.parametrize("make, message", [
    (lambda: ThresholdInput([0.5, 0.5]), "strictly increasing"),
    (lambda: ThresholdInput([]), "1 to 16 thresholds"),
    (lambda: LogicConv2d(2, 3, 3, depth=0), "depth must be in 1..10"),
    (lambda: LogicConv2d(0, 3, 3), "must be positive"),
    (lambda: LogicConv2d(2, 3, 3, stride=0), "kernel_size, stride and dilation must be positive"),
    (lambda: OrPool2d(2, soft="mean"), "soft must be one of max, prob"),
    (lambda: OrPool2d(2, padding=2), "padding at most half the kernel"),
    (lambda: BooleanConv2d(1, 1, 3, [[0, 9]], [[6]]), "leaves must lie in 0..8"),
])
def test_bad_parameters_are_refused_with_a_message(make, message):
    with pytest.raises(LogicConfigError, match=message):
        make()


def test_wrong_input_shape_is_refused():
    with pytest.raises(LogicConfigError, match=r"expects input of shape \(N, 2, H, W\), found \(1, 3, 5, 5\)"):
        LogicConv2d(2, 3, 3)(torch.zeros(1, 3, 5, 5))
    with pytest.raises(LogicConfigError, match="smaller than the receptive field"):
        LogicConv2d(2, 3, 3)(torch.zeros(1, 2, 2, 2))
