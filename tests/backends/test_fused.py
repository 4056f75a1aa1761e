"""The fused JIT path (float input -> encoding -> netlist -> decoded outputs in one native loop).

Every test compares the fused run with the step-by-step JIT path
(``fused=False``: numpy encoding, packing, netlist, unpacking) and with the
numpy reference evaluator, bit for bit.
"""

import numpy as np
import pytest
import torch
from torch import nn

import nandc
import nandc.nn as qnn
from nandc.backends.llvm import fused as fz
from nandc.errors import BackendError
from nandc.nn import BooleanLayer, GroupSum

BATCHES = (1, 2, 63, 64, 255, 256, 257, 700)


def _difflogic_shaped(n_in, widths, classes, seed, quantizer):
    """Random gates (every one of the 16 functions) over random input pairs, then a GroupSum."""
    rng = np.random.default_rng(seed)
    mods, d = [quantizer], n_in
    for w in widths:
        mods.append(BooleanLayer(d, rng.integers(0, d, w), rng.integers(0, d, w), rng.integers(0, 16, w)))
        d = w
    mods.append(GroupSum(classes))
    return nn.Sequential(*mods).eval()


def _edge_inputs(n, n_in, seed, special, dtype=np.float32):
    """Uniform values in [-0.5, 2.0) with many entries replaced by ``special`` values."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 2.0, size=(n, n_in)).astype(dtype)
    pick = rng.random((n, n_in)) < 0.4
    x[pick] = rng.choice(np.asarray(special, dtype=dtype), size=int(pick.sum()))
    return x


def _check_all_paths(cm, x, threads=1):
    fused_run = cm.run(x, threads=threads, fused=True)
    plain_run = cm.run(x, threads=threads, fused=False)
    ref_run = cm.run(x, backend="reference")
    assert set(fused_run) == set(plain_run) == set(ref_run)
    for role in plain_run:
        assert fused_run[role].dtype == plain_run[role].dtype == np.int64
        assert fused_run[role].shape == plain_run[role].shape
        np.testing.assert_array_equal(fused_run[role], plain_run[role], err_msg=role)
        np.testing.assert_array_equal(fused_run[role], ref_run[role], err_msg=role)
    if "class" in plain_run:
        np.testing.assert_array_equal(cm.predict(x, threads=threads, fused=True), plain_run["class"])
        np.testing.assert_array_equal(cm.predict(x, threads=threads), plain_run["class"])
    return fused_run


@pytest.fixture(scope="module")
def uniform_net():
    m = _difflogic_shaped(21, [40, 30], 3, seed=1, quantizer=qnn.InputQuant(1, 1.0))
    return nandc.compile(m, torch.zeros(2, 21))


@pytest.fixture(scope="module")
def threshold_net():
    torch.manual_seed(2)
    m = nn.Sequential(qnn.InputBinarize(0.3), qnn.BinaryLinear(9, 4)).eval()
    return nandc.compile(m, torch.zeros(2, 9))


# values at and around the rounding point 0.5 of InputQuant(1, 1.0), and signed zeros / infinities
UNIFORM_EDGES = [0.5, np.nextafter(np.float32(0.5), 1), np.nextafter(np.float32(0.5), 0), 1.5, 2.5, 0.0, -0.0,
                 np.inf, -np.inf, 1.0, -1.0, 3e38, -3e38, 1e-45, -1e-45]


@pytest.mark.parametrize("batch", BATCHES)
def test_uniform_one_bit_equals_plain_and_reference(uniform_net, batch):
    x = _edge_inputs(batch, 21, seed=batch, special=UNIFORM_EDGES)
    _check_all_paths(uniform_net, x)


def test_uniform_float64_ints_bools_and_torch_inputs(uniform_net):
    x64 = _edge_inputs(300, 21, seed=7, special=UNIFORM_EDGES + [np.nextafter(0.5, 1.0)], dtype=np.float64)
    _check_all_paths(uniform_net, x64)
    ints = np.random.default_rng(3).integers(-2, 3, size=(300, 21))
    _check_all_paths(uniform_net, ints)
    _check_all_paths(uniform_net, ints.astype(bool))
    t = torch.from_numpy(_edge_inputs(300, 21, seed=8, special=UNIFORM_EDGES))
    np.testing.assert_array_equal(uniform_net.predict(t), uniform_net.predict(t.numpy(), fused=False))


def test_uniform_nan_raises_the_plain_paths_error(uniform_net):
    x = np.full((5, 21), 0.25, dtype=np.float32)
    x[3, 7] = np.nan
    with pytest.raises(BackendError) as plain:
        uniform_net.run(x, fused=False)
    with pytest.raises(BackendError) as fused_err:
        uniform_net.run(x)
    with pytest.raises(BackendError):
        uniform_net.predict(x)
    assert str(fused_err.value) == str(plain.value)
    assert "(3, 7)" in str(plain.value)


@pytest.mark.parametrize("batch", (1, 100, 513))
def test_threshold_exact_threshold_nan_and_zeros(threshold_net, batch):
    t32 = np.float32(0.3)
    special = [t32, np.nextafter(t32, 1), np.nextafter(t32, 0), np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0]
    x = _edge_inputs(batch, 9, seed=batch, special=special)
    _check_all_paths(threshold_net, x)
    # float64 compares against the float64 threshold 0.3, not float32(0.3)
    x64 = _edge_inputs(batch, 9, seed=batch + 1, special=special + [0.3, np.nextafter(0.3, 0), float(t32)],
                       dtype=np.float64)
    _check_all_paths(threshold_net, x64)


def test_threshold_at_zero_separates_signed_zeros_like_numpy():
    torch.manual_seed(4)
    m = nn.Sequential(qnn.InputBinarize(0.0), qnn.BinaryLinear(5, 3)).eval()
    cm = nandc.compile(m, torch.zeros(2, 5))
    x = np.array([[0.0, -0.0, 1e-45, -1e-45, np.nan]] * 3 + [[-0.0] * 5, [0.0] * 5], dtype=np.float32)
    _check_all_paths(cm, x)


def test_two_threads_and_many_blocks_equal_one_thread(uniform_net):
    x = _edge_inputs(5000, 21, seed=11, special=UNIFORM_EDGES)
    one = _check_all_paths(uniform_net, x, threads=1)
    two = uniform_net.run(x, threads=2)
    for role in one:
        np.testing.assert_array_equal(one[role], two[role])


@pytest.mark.parametrize("bits,step", [(3, 0.25), pytest.param(2, 0.5, marks=pytest.mark.slow),
                                       pytest.param(8, 1 / 64, marks=pytest.mark.slow)])
def test_multibit_uniform_codes_through_int4_linear(bits, step):
    torch.manual_seed(bits)
    m = nn.Sequential(qnn.InputQuant(bits, step), qnn.Int4Linear(13, 5)).eval()
    cm = nandc.compile(m, torch.zeros(2, 13))
    top = (1 << bits) - 1
    halves = [(k + 0.5) * step for k in range(-1, top + 2)]
    special = halves + [k * step for k in range(top + 2)] + [-0.0, np.inf, -np.inf, 1e30, -step / 2]
    for batch in (1, 257, 600):
        _check_all_paths(cm, _edge_inputs(batch, 13, seed=batch, special=special))
        _check_all_paths(cm, _edge_inputs(batch, 13, seed=batch, special=special, dtype=np.float64))


def test_image_shaped_input_and_binary_linear():
    torch.manual_seed(5)
    m = nn.Sequential(qnn.InputBinarize(0.5), nn.Flatten(), qnn.BinaryLinear(2 * 3 * 5, 4)).eval()
    cm = nandc.compile(m, torch.zeros(2, 2, 3, 5), staged=False)
    x = np.random.default_rng(0).random((300, 2, 3, 5)).astype(np.float32)
    x[::3, 0, 0, :] = 0.5
    _check_all_paths(cm, x)


def test_loaded_model_runs_fused(tmp_path, uniform_net):
    path = tmp_path / "m.nandc"
    uniform_net.save(path)
    loaded = nandc.load(path)
    x = _edge_inputs(400, 21, seed=5, special=UNIFORM_EDGES)
    _check_all_paths(loaded, x)


def test_fused_true_refuses_what_it_cannot_run(uniform_net):
    x = np.zeros((3, 21), dtype=np.float16)
    with pytest.raises(BackendError, match="fused path does not apply.*float16"):
        uniform_net.run(x, fused=True)
    np.testing.assert_array_equal(uniform_net.predict(x), uniform_net.predict(x, fused=False))
    with pytest.raises(BackendError, match="runs on the 'jit' backend"):
        uniform_net.run(np.zeros((3, 21), np.float32), backend="reference", fused=True)
    empty, ref = uniform_net.run(np.zeros((0, 21), np.float32)), uniform_net.run(np.zeros((0, 21)), "reference")
    for role in ref:
        assert empty[role].shape == ref[role].shape and empty[role].dtype == ref[role].dtype


def test_plan_rejects_thresholds_encoding_and_staged_programs(uniform_net):
    assert fz.plan_fused(uniform_net.program, {"kind": "tokens", "vocab": 4}, ("class",), np.float32) is None
    assert fz.plan_fused(uniform_net.program, uniform_net.interface.input_encoding, ("class",), np.float16) is None
    plan = fz.plan_fused(uniform_net.program, uniform_net.interface.input_encoding, ("logits", "class"),
                         np.float32)
    assert [r[0] for r in plan.roles] == ["logits", "class"]
    assert len(plan.spec.fields) == 3 + 1


def test_spec_signal_map_is_a_permutation_of_the_inputs():
    spec = fz.FusedSpec("uniform", "float", 13, 3, 4.0, False, 39, 8, ((0, 8, True),))
    smap = spec.signal_map()
    assert sorted(smap[smap >= 0].tolist()) == list(range(39))
    # bit k of element e is signal e * bits + k
    col = 8 * (2 * spec.groups + 1) + 4  # plane 2, group 1, element 8 + 4
    assert smap[col] == 12 * 3 + 2


def test_exact_inverse_only_for_representable_reciprocals():
    assert fz.exact_inverse(0.25, np.float32) == 4.0
    assert fz.exact_inverse(3.0, np.float64) is None
    assert fz.exact_inverse(2.0 ** 127, np.float32) == 2.0 ** -127  # subnormal but exact
    assert fz.exact_inverse(2.0 ** -127, np.float32) == 2.0 ** 127
    assert fz.exact_inverse(2.0 ** -130, np.float32) is None  # 2**130 overflows float32


def test_a_loaded_model_pickles_after_a_fused_run(tmp_path, uniform_net):
    import pickle

    uniform_net.save(tmp_path / "m.nandc")
    loaded = nandc.load(tmp_path / "m.nandc")
    x = _edge_inputs(50, 21, seed=9, special=UNIFORM_EDGES)
    before = loaded.predict(x)
    assert loaded._fused  # the fused runner is loaded, and is not pickled
    again = pickle.loads(pickle.dumps(loaded))
    np.testing.assert_array_equal(again.predict(x, fused=True), before)


@pytest.mark.parametrize("n_in", [64, pytest.param(91, marks=pytest.mark.slow), pytest.param(150, marks=pytest.mark.slow)])
def test_wide_one_bit_rows_sixteen_at_a_time(n_in):
    """Inputs of 64 and more elements take the 16-wide row loop, the rest 8 at a time."""
    m = _difflogic_shaped(n_in, [64, 40], 4, seed=n_in, quantizer=qnn.InputQuant(1, 1.0))
    cm = nandc.compile(m, torch.zeros(2, n_in))
    for batch, dtype in ((1, np.float32), (300, np.float32), (300, np.float64)):
        _check_all_paths(cm, _edge_inputs(batch, n_in, seed=batch + n_in, special=UNIFORM_EDGES, dtype=dtype))
    for col in (0, 17, 63, n_in - 1):  # a NaN in the 16-wide words and in the tail
        x = np.full((3, n_in), 0.75, dtype=np.float32)
        x[2, col] = np.nan
        with pytest.raises(BackendError, match=f"index \\(2, {col}\\)"):
            cm.run(x)
    torch.manual_seed(n_in)
    binary = nn.Sequential(qnn.InputBinarize(0.25), qnn.BinaryLinear(n_in, 5)).eval()
    cb = nandc.compile(binary, torch.zeros(2, n_in))
    t = np.float32(0.25)
    special = [t, np.nextafter(t, 1), np.nextafter(t, 0), np.nan, np.inf, -np.inf, -0.0]
    for batch, dtype in ((1, np.float32), (257, np.float32), (257, np.float64)):
        _check_all_paths(cb, _edge_inputs(batch, n_in, seed=batch, special=special, dtype=dtype))
