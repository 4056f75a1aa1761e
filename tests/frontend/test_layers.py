"""Bit-exactness of every supported layer type, on random weights and inputs."""

import torch
from torch import nn

import nandc.nn as qnn
from conftest import assert_bit_exact, randomize_batchnorm


def rand(*shape, seed=0, scale=1.0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def test_binary_mlp_with_negative_gamma_and_zero_input():
    torch.manual_seed(1)
    m = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(23, 17), nn.BatchNorm1d(17),
                      qnn.SignActivation(), nn.Dropout(0.3), qnn.BinaryLinear(17, 5))
    randomize_batchnorm(m, seed=1, negative_fraction=0.5)
    x = rand(300, 23, seed=2)
    x[0] = 0.0
    x[1] = 1.0
    assert_bit_exact(m, x)


def test_binary_conv_padding_stride_maxpool_on_signs():
    torch.manual_seed(2)
    m = nn.Sequential(qnn.InputBinarize(0.3), qnn.BinaryConv2d(2, 5, 3, stride=2, padding=1),
                      nn.BatchNorm2d(5), qnn.SignActivation(), nn.MaxPool2d(2),
                      nn.Flatten(), qnn.BinaryLinear(5 * 2 * 2, 3))
    randomize_batchnorm(m, seed=3)
    assert_bit_exact(m, rand(200, 2, 7, 9, seed=4))


def test_maxpool_before_batchnorm_pools_the_integers():
    torch.manual_seed(3)
    m = nn.Sequential(qnn.InputBinarize(), qnn.BinaryConv2d(1, 3, 3, padding=1), nn.MaxPool2d(2),
                      nn.BatchNorm2d(3), qnn.SignActivation(), nn.Flatten(), qnn.BinaryLinear(3 * 3 * 3, 4))
    randomize_batchnorm(m, seed=5)
    assert_bit_exact(m, rand(200, 1, 6, 6, seed=6))


def test_int4_cnn_multibit_activations_and_maxpool_comparators():
    torch.manual_seed(4)
    m = nn.Sequential(qnn.InputQuant(2, 0.25), qnn.Int4Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                      qnn.ReLUQuant(2, 0.5), nn.MaxPool2d(2), qnn.Int4Conv2d(4, 3, 2),
                      nn.BatchNorm2d(3), nn.ReLU(), qnn.ReLUQuant(3, 0.25), nn.Flatten(),
                      qnn.Int4Linear(3 * 2 * 2, 6))
    randomize_batchnorm(m, seed=7, negative_fraction=0.4)
    x = rand(300, 1, 6, 6, seed=8)
    x[0] = 0
    assert_bit_exact(m, x)


def test_zero_weight_neurons_and_hardtanh():
    torch.manual_seed(5)
    m = nn.Sequential(qnn.InputQuant(3, 0.125), qnn.Int4Linear(10, 6), nn.BatchNorm1d(6),
                      nn.Hardtanh(0.0, 1.0), qnn.ReLUQuant(2, 0.25), qnn.Int4Linear(6, 4))
    with torch.no_grad():
        m[1].weight[2].zero_()  # a neuron whose weights are all zero
        m[1].weight[0, 0] = 20.0  # makes the scale large: many weights round to 0
    randomize_batchnorm(m, seed=9)
    assert_bit_exact(m, rand(300, 10, seed=10))


def test_ternary_mlp_with_relu_between_layers():
    torch.manual_seed(6)
    m = nn.Sequential(qnn.InputQuant(3, 0.25), qnn.TernaryLinear(9, 7), nn.ReLU(), qnn.TernaryLinear(7, 4))
    x = rand(400, 9, seed=11, scale=2.0)
    x[0] = 0.0  # all-zero token: int8 codes are all 0
    assert_bit_exact(m, x)


def test_view_and_size_in_a_custom_forward():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputBinarize()
            self.conv = qnn.BinaryConv2d(1, 2, 2)
            self.bn = nn.BatchNorm2d(2)
            self.act = qnn.SignActivation()
            self.fc = qnn.BinaryLinear(2 * 3 * 3, 3)

        def forward(self, x):
            x = self.act(self.bn(self.conv(self.q(x))))
            return self.fc(x.view(x.size(0), -1))

    torch.manual_seed(7)
    m = randomize_batchnorm(Net(), seed=12)
    compiled = assert_bit_exact(m, rand(100, 1, 4, 4, seed=13))
    layers = set(compiled.netlist.layer_names)
    assert {"conv", "act", "fc", "head", "argmax"} <= layers


def test_layer_tags_are_module_names():
    torch.manual_seed(8)
    m = nn.Sequential(qnn.InputBinarize(), qnn.BinaryLinear(8, 4), nn.BatchNorm1d(4),
                      qnn.SignActivation(), qnn.BinaryLinear(4, 3))
    randomize_batchnorm(m)
    compiled = assert_bit_exact(m, rand(50, 8))
    counts = compiled.netlist.layer_counts()
    assert counts["1"] > 0 and counts["3"] > 0 and counts["argmax"] > 0


class _Residual(nn.Module):
    """A binary residual block: sign(bn(conv(x))) + x, then a 2-bit activation."""

    def __init__(self):
        super().__init__()
        self.q = qnn.InputBinarize(0.5)
        self.conv = qnn.BinaryConv2d(2, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.act = qnn.SignActivation()
        self.pool = nn.AvgPool2d(2)
        self.bn2 = nn.BatchNorm2d(2)
        self.act2 = qnn.ReLUQuant(2, 0.5)
        self.fc = qnn.Int4Linear(2 * 2 * 2, 3)

    def forward(self, x):
        x = self.q(x)
        y = self.act(self.bn(self.conv(x))) + x
        y = self.act2(self.bn2(self.pool(y)))
        return self.fc(torch.flatten(y, 1))


def test_residual_add_and_power_of_two_avgpool():
    torch.manual_seed(9)
    m = randomize_batchnorm(_Residual(), seed=14)
    assert_bit_exact(m, rand(300, 2, 4, 4, seed=15))


def test_avgpool_with_a_non_power_of_two_window_is_exact_on_integers():
    """A 3x3 average of +-1 codes has step 1/9.  The circuit sums the ninths exactly (equal to the
    integer reference on every sample); torch's float sum of ninths is within rounding of it."""
    import nandc

    m = nn.Sequential(qnn.InputBinarize(), nn.AvgPool2d(3), nn.Flatten(), qnn.BinaryLinear(4, 2)).eval()
    x = rand(300, 1, 6, 6, seed=16)
    compiled = nandc.compile(m, x[:1], passes="O1")
    got = compiled.to_torch_output(compiled.run(x, backend="reference")["logits"])
    assert torch.equal(got, compiled.reference(x))
    with torch.no_grad():
        assert torch.allclose(got, m(x), rtol=0, atol=1e-5) and not torch.equal(got, m(x))
