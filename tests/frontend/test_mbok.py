"""MBOK layers: extraction quality, fixed-point exactness, per-kernel gate tags."""

import numpy as np
import pytest
import torch
from torch import nn

import nandc.nn as qnn
from nandc.nn.mbok import extract_kernels, reconstruction_error
from conftest import assert_bit_exact


def calibrate(model, x, flip_gamma=True, seed=0):
    """Real BatchNorm statistics from data (train-mode passes), some gammas negative."""
    model.train()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.momentum = None  # cumulative average
        model(x)
        if flip_gamma:
            gen = torch.Generator().manual_seed(seed)
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                    m.weight.mul_(torch.where(torch.rand(m.num_features, generator=gen) < 0.3, -1.0, 1.0))
    return model.eval()


@pytest.mark.parametrize("seed", [0, 1])
def test_reconstruction_error_falls_with_k_random_matrix(seed):
    w = torch.randn(32, 48, generator=torch.Generator().manual_seed(seed))
    errors = [reconstruction_error(w, *extract_kernels(w, k)) for k in range(1, 6)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors
    assert errors[0] < 1.0


@pytest.mark.slow
def test_reconstruction_error_falls_with_k_trained_matrix():
    from nandc.lab import datasets
    from nandc.nn.training import fit

    ds = datasets.load_digits()
    torch.manual_seed(0)
    lin = nn.Linear(64, 10)
    model = nn.Sequential(lin)
    fit(model, ds.x_train, ds.y_train, epochs=3, progress=False)
    errors = [reconstruction_error(lin.weight, *extract_kernels(lin.weight, k)) for k in range(1, 5)]
    assert all(b < a for a, b in zip(errors, errors[1:])), errors


def test_mbok_mlp_bit_exact_and_kernel_tags():
    torch.manual_seed(0)
    m = nn.Sequential(qnn.InputBinarize(0.5), qnn.MBOKLinear.from_float(nn.Linear(16, 8), kernels=3),
                      nn.BatchNorm1d(8), qnn.SignActivation(), qnn.MBOKLinear(8, 4, kernels=2))
    x = torch.rand(400, 16)
    calibrate(m, x)
    compiled = assert_bit_exact(m, x)
    counts = compiled.netlist.layer_counts()
    assert all(counts.get(f"1.k{k}", 0) > 0 for k in range(3)), counts
    assert counts["1.sum"] > 0 and counts["3"] > 0
    classes = compiled.run(x, backend="reference")["class"]
    assert len(np.unique(classes)) > 1  # not a constant model


def test_mbok_conv_bit_exact_with_multibit_activations():
    torch.manual_seed(1)
    m = nn.Sequential(qnn.InputQuant(2, 0.25), qnn.MBOKConv2d.from_float(nn.Conv2d(2, 3, 3, padding=1), 2),
                      nn.BatchNorm2d(3), qnn.ReLUQuant(2, 0.5), nn.Flatten(),
                      qnn.MBOKLinear(3 * 4 * 4, 5, kernels=2))
    x = torch.rand(300, 2, 4, 4)
    calibrate(m, x)
    compiled = assert_bit_exact(m, x)
    assert compiled.netlist.layer_counts().get("1.k1", 0) > 0


def test_fixed_point_scales_make_eval_exact():
    torch.manual_seed(2)
    layer = qnn.MBOKLinear.from_float(nn.Linear(10, 3), kernels=2, scale_bits=5).eval()
    x = torch.where(torch.rand(50, 10) < 0.5, -1.0, 1.0)
    expected = x.to(torch.int64) @ layer.int_weight().T
    got = layer(x) / 2.0 ** -(int(layer.frac_in) + int(layer.frac_out))
    assert torch.equal(got, expected.to(torch.float32))
