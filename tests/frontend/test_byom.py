"""Models as their authors wrote them: fake quantization in forward(), torch.ao QAT, sign inputs, BN heads.

Every model is compiled flat and staged and checked on every sample against
the integer reference (``CompiledModel.reference``); where all scales are
powers of two the float forward itself must match too.
"""

import io
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nandc
import nandc.nn as qnn
from conftest import randomize_batchnorm
from nandc.errors import QuantizationError, UnsupportedLayer


def rand(*shape, seed=0, scale=1.0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def check(model, x, float_exact=False, staged=(False, True), passes="O1"):
    """Compile ``model`` (flat and staged) and compare with the integer reference on every sample."""
    model.eval()
    compiled = None
    for mode in staged:
        compiled = nandc.compile(model, x[:1], passes=passes, staged=mode)
        out = compiled.run(x, backend="reference")
        got = compiled.to_torch_output(out["logits"])
        ref = compiled.reference(x)
        bad = (got != ref).reshape(len(x), -1).any(1).nonzero().flatten().tolist()
        assert not bad, f"staged={mode}: {len(bad)} of {len(x)} samples differ from the integer reference"
        if "class" in out:
            assert np.array_equal(out["class"], ref.argmax(1).numpy())
        if float_exact:
            with torch.no_grad():
                assert torch.equal(got, model(x))
    return compiled


# ---------------------------------------------------------------------- weights quantized in forward()
def absmax4(w):
    s = w.abs().max() / 7
    return w + (torch.round(w / s).clamp(-7, 7) * s - w).detach()


class Conv4bit(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, absmax4(self.weight), self.bias, self.stride, self.padding)


class Linear4bit(nn.Linear):
    def forward(self, x):
        return F.linear(x, absmax4(self.weight), self.bias)


class AbsMaxCNN(nn.Module):
    """The 4-bit CPU-training paper's style: own layers quantizing in forward, BatchNorm, float ReLU."""

    def __init__(self):
        super().__init__()
        self.conv1 = Conv4bit(1, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = Conv4bit(6, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = Linear4bit(8 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(x.flatten(1))


@pytest.mark.slow
def test_absmax_cnn_with_float_relu_compiles_after_quantize_activations():
    torch.manual_seed(0)
    model = randomize_batchnorm(AbsMaxCNN(), seed=1, negative_fraction=0.2).eval()
    x = rand(120, 1, 8, 8, seed=2)
    with pytest.raises(QuantizationError) as info:
        nandc.compile(model, x[:1])
    assert str(info.value) == ("layer 'conv1' receives the float model input 'x'; quantize it first with "
                               "nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)")
    q = nandc.quantize_activations(model, x, bits=4)
    report = q.calibration
    assert [(p.after, p.bits, p.signed) for p in report.points] == [("input", 8, False), ("relu", 4, False),
                                                                    ("relu_1", 4, False)]
    assert report.samples == 120 and 0.9 <= report.agreement <= 1.0
    compiled = check(q, x)
    assert compiled.interface.output_kind == "ordinal"  # float bias on the logits
    layers = set().union(*(stage.netlist.layer_names for stage in compiled.program.stages))
    assert {"conv1", "conv2", "fc", "act_quant_1"} <= layers
    assert model.training is False and not hasattr(model, "calibration")  # the original is untouched


@pytest.mark.slow
def test_trained_absmax_cnn_on_digits_bit_exact_and_accuracy_reported():
    from nandc.lab import datasets
    from nandc.nn import training

    torch.manual_seed(0)
    ds = datasets.load_digits()
    xtr, xte = ds.x_train.reshape(-1, 1, 8, 8), ds.x_test.reshape(-1, 1, 8, 8)
    model = AbsMaxCNN()
    training.fit(model, xtr, ds.y_train, epochs=6, progress=False)
    model.eval()
    float_acc = float((training.torch_predict(model, xte).argmax(1).numpy() == ds.y_test).mean())
    q = nandc.quantize_activations(model, xtr, bits=4, labels=ds.y_train)
    assert abs(q.calibration.accuracy_after - q.calibration.accuracy_before) < 0.02
    assert "accuracy: " in str(q.calibration)
    compiled = check(q, torch.from_numpy(xte), staged=(True,))
    pred = compiled.predict(xte, backend="reference")
    assert abs(float((pred == ds.y_test).mean()) - float_acc) < 0.03
    with torch.no_grad():  # the float forward of the calibrated model agrees on the argmax
        assert (pred == q(torch.from_numpy(xte)).argmax(1).numpy()).mean() >= 0.99


def test_tanh_clipped_weights_and_power_of_two_scales_match_the_float_forward():
    class TanhLinear(nn.Linear):
        def forward(self, x):
            w = 3 * torch.tanh(self.weight / 3)
            s = 2.0 ** torch.ceil(torch.log2(w.abs().max() / 7))  # a power-of-two scale
            return F.linear(x, w + (torch.round(w / s).clamp(-7, 7) * s - w).detach())

    torch.manual_seed(3)
    model = nn.Sequential(qnn.InputQuant(3, 0.125), TanhLinear(12, 9, bias=False), nn.BatchNorm1d(9),
                          qnn.ReLUQuant(2, 0.5), TanhLinear(9, 4, bias=False))
    randomize_batchnorm(model, seed=4)
    compiled = check(model, rand(200, 12, seed=5), float_exact=True)
    assert compiled.interface.output_kind == "accumulator"


def test_per_channel_grids_and_nonpower_of_two_activation_steps():
    class PerChannel(nn.Linear):
        def forward(self, x):
            s = self.weight.abs().amax(1, keepdim=True) / 127
            return F.linear(x, torch.round(self.weight / s) * s, self.bias)

    torch.manual_seed(5)
    model = nn.Sequential(qnn.InputQuant(4, 1 / 16), PerChannel(10, 7), nn.BatchNorm1d(7),
                          qnn.ReLUQuant(3, 0.37), PerChannel(7, 5))
    randomize_batchnorm(model, seed=6)
    x = rand(300, 10, seed=7)
    compiled = check(model, x)
    with torch.no_grad():  # non-power-of-two steps: the float forward rounds its sums
        agree = (compiled.predict(x, backend="reference") == model(x).argmax(1).numpy()).mean()
    assert agree >= 0.98


class GroupedConv4bit(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, absmax4(self.weight), self.bias, self.stride, self.padding, self.dilation, self.groups)


@pytest.mark.parametrize("functional", [False, True])
def test_grouped_and_depthwise_convolutions_match_the_float_forward(functional):
    """groups=2 and a depthwise (MobileNet-style) conv: each output channel reads only its group."""
    torch.manual_seed(11)
    if functional:
        grouped = GroupedConv4bit(4, 6, 3, padding=1, groups=2, bias=False)
        depthwise = GroupedConv4bit(6, 6, 3, stride=2, padding=1, groups=6, bias=False)
    else:
        grouped = nn.Conv2d(4, 6, 3, padding=1, groups=2, bias=False)
        depthwise = nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=False)
        with torch.no_grad():
            for conv in (grouped, depthwise):
                conv.weight.copy_(torch.randint(-3, 4, conv.weight.shape) * 0.25)
    model = nn.Sequential(qnn.InputQuant(2, 0.25), grouped, qnn.ReLUQuant(2, 0.5), depthwise,
                          qnn.ReLUQuant(2, 0.5), nn.Flatten(), nn.Linear(6 * 3 * 3, 3, bias=False))
    with torch.no_grad():
        model[-1].weight.copy_(torch.randint(-2, 3, model[-1].weight.shape).float())
    x = rand(64, 4, 6, 6, seed=12)
    compiled = check(model, x, float_exact=True)
    assert compiled.interface.output_kind == "accumulator"


def test_grouped_convolution_with_groups_not_dividing_the_channels_is_refused():
    model = nn.Sequential(qnn.InputQuant(2, 0.25), nn.Conv2d(4, 6, 3, groups=2, bias=False))
    model[1].groups = 4  # as a hand-edited module would: 4 groups cannot split 6 output channels
    with pytest.raises(QuantizationError, match=r"^layer '1': groups=4 must divide in_channels=4 and out_channels=6"):
        nandc.compile(model, rand(1, 4, 5, 5))


def _int_weights(*modules, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in modules:
            m.weight.copy_(torch.randint(-3, 4, m.weight.shape, generator=gen) * 0.25)
            if m.bias is not None:
                m.bias.zero_()


@pytest.mark.parametrize("pool, side", [
    (lambda: nn.AdaptiveAvgPool2d(1), 6),        # a global average pool over 36 cells
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), 6),   # 3x2 windows: 6 cells
    (lambda: nn.AvgPool2d(3), 6),                # 9 cells, not a power of two
    (lambda: nn.AdaptiveMaxPool2d(2), 4),
])
def test_adaptive_and_non_power_of_two_average_pools(pool, side):
    torch.manual_seed(13)
    conv, fc = nn.Conv2d(3, 4, 3, padding=1), nn.LazyLinear(3)
    model = nn.Sequential(qnn.InputQuant(2, 0.25), conv, qnn.ReLUQuant(2, 0.5), pool(), nn.Flatten(), fc)
    x = rand(80, 3, side, side, seed=14)
    with torch.no_grad():
        model(x[:1])
    _int_weights(conv, fc)
    compiled = check(model, x)  # flat and staged: equal to the integer reference on every sample
    with torch.no_grad():  # the float forward rounds its sums of fractions: argmax agreement, as reported
        agree = (compiled.predict(x, backend="reference") == model(x).argmax(1).numpy()).mean()
    assert agree >= 0.95


class _GlobalPoolNet(nn.Module):
    """Global pooling written as people write it: x.mean((2, 3)), torch.sum(..., keepdim=True), unsqueeze."""

    def __init__(self, how):
        super().__init__()
        self.how, self.q = how, qnn.InputQuant(2, 0.25)
        self.conv, self.act, self.fc = nn.Conv2d(1, 4, 3, padding=1), qnn.ReLUQuant(2, 0.5), nn.Linear(4, 3)
        _int_weights(self.conv, self.fc)

    def forward(self, x):
        y = self.act(self.conv(self.q(x).unsqueeze(1)))  # (N, H, W) images -> one channel
        if self.how == "mean":
            y = y.mean((2, 3))
        elif self.how == "torch.mean":
            y = torch.mean(y, dim=[-1, -2])
        elif self.how == "sum keepdim":
            y = torch.sum(y, (2, 3), keepdim=True).squeeze(-1).squeeze(-1)
        else:
            y = y.mean(3).mean(2)  # W, then H
        return self.fc(y)


@pytest.mark.parametrize("how", ["mean", "torch.mean", "sum keepdim", "mean twice"])
def test_global_pooling_by_mean_and_sum(how):
    model = _GlobalPoolNet(how)
    x = rand(64, 4, 4, seed=21)
    check(model, x, float_exact=True)  # 16 cells (then 4 and 4): power-of-two divisors, exact in float


def test_mean_over_channels_is_refused():
    class ChannelMean(_GlobalPoolNet):
        def forward(self, x):
            return self.act(self.conv(self.q(x).unsqueeze(1))).mean(1)

    with pytest.raises(QuantizationError, match=r"^'mean': mean over dim=1 of a sample of shape \(4, 4, 4\) is not "
                                                r"supported; nandc converts means over the spatial dimensions"):
        nandc.compile(ChannelMean("mean"), rand(1, 4, 4))


def test_adaptive_pool_with_uneven_windows_is_refused():
    model = nn.Sequential(qnn.InputQuant(2, 0.25), nn.Conv2d(3, 4, 3), qnn.ReLUQuant(2, 0.5),
                          nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 3))
    _int_weights(model[1], model[5])
    for staged in (False, True):
        with pytest.raises(QuantizationError, match=r"^'3': adaptive_avg_pool2d from 3x3 to 2x2 pools windows "
                                                     r"of different sizes"):
            nandc.compile(model, rand(1, 3, 5, 5), staged=staged)


class _Functional1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.act, self.fc = qnn.InputQuant(2, 0.25), qnn.ReLUQuant(2, 0.5), nn.Linear(8, 3)
        self.w = nn.Parameter(torch.randint(-3, 4, (4, 3, 5)) * 0.25)
        _int_weights(self.fc)

    def forward(self, x):
        y = self.act(F.conv1d(self.q(x), self.w, padding=2, dilation=1))
        y = torch.cat([F.max_pool1d(y, 4, 4), F.avg_pool1d(y, kernel_size=4)], dim=1)  # (8, 4)
        return self.fc(y.mean(-1))


def test_one_dimensional_layers_compile_as_height_one_images():
    """Conv1d (bias, groups, dilation, stride), BatchNorm1d on (N, C, L), MaxPool1d, AvgPool1d, F.conv1d."""
    torch.manual_seed(17)
    conv_a, conv_b = nn.Conv1d(3, 4, 3, padding=1), nn.Conv1d(4, 6, 3, stride=2, groups=2)
    fc = nn.Linear(6 * 2, 3)
    _int_weights(conv_a, conv_b, fc)
    model = nn.Sequential(qnn.InputQuant(2, 0.25), conv_a, nn.BatchNorm1d(4), qnn.ReLUQuant(2, 0.5),
                          nn.MaxPool1d(2, 1), conv_b, qnn.ReLUQuant(2, 0.5), nn.AvgPool1d(2), nn.Flatten(), fc)
    randomize_batchnorm(model, seed=18)
    check(model, rand(64, 3, 12, seed=19), float_exact=True)
    check(_Functional1d(), rand(64, 3, 16, seed=20), float_exact=True)
    model[5].dilation = (2,)  # dilated convolutions compile as staged programs
    check(model, rand(64, 3, 14, seed=21), float_exact=True, staged=(True,))


def test_one_dimensional_layer_errors_name_the_layer():
    conv = nn.Conv1d(3, 4, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.rand(conv.weight.shape) * torch.pi)  # on no small grid
    model = nn.Sequential(qnn.InputQuant(2, 0.25), conv)
    with pytest.raises(QuantizationError, match=r"layer '1'"):
        nandc.compile(model, rand(1, 3, 8))


def test_weights_not_on_a_small_grid_are_refused_naming_the_layer():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputBinarize()
            self.fc = nn.Linear(16, 2, bias=False)

        def forward(self, x):
            return self.fc(self.q(x))

    net = Net()
    with torch.no_grad():
        net.fc.weight.copy_(torch.linspace(-1, 1, 32).reshape(2, 16) ** 3)
    with pytest.raises(QuantizationError) as info:
        nandc.compile(net, torch.zeros(1, 16))
    assert str(info.value) == (
        "layer 'fc': the weight is not on a grid of at most 511 integer levels, per tensor or per output "
        "channel; output channel 0 holds [-1, -0.81867, -0.660703, -0.524487, -0.408412, -0.310866, ... "
        "(16 distinct values)]. Quantize the weights in forward() (e.g. abs-max to 2**(b-1)-1 levels), or use "
        "a quantized layer (nandc.nn.Int4Linear, brevitas QuantLinear ...)"
    )


def test_int4_layers_with_per_channel_scales():
    torch.manual_seed(7)
    model = nn.Sequential(qnn.InputQuant(2, 0.25), qnn.Int4Conv2d(1, 3, 3, padding=1, per_channel=True),
                          nn.BatchNorm2d(3), qnn.ReLUQuant(2, 0.5), nn.Flatten(),
                          qnn.Int4Linear(3 * 5 * 5, 4, per_channel=True))
    randomize_batchnorm(model, seed=8)
    compiled = check(model, rand(150, 1, 5, 5, seed=9), float_exact=True)
    assert compiled.interface.output_kind == "ordinal"  # per-class scales: the integers alone do not order


# ---------------------------------------------------------------------- binary networks as written by hand
def ste_sign(x):
    return x + (torch.sign(x) - x).detach()


class BinLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, ste_sign(self.weight))


class HandBNN(nn.Module):
    """sign() with a straight-through estimator on weights and activations; BatchNorm on the logits."""

    def __init__(self, sign_input):
        super().__init__()
        self.sign_input = sign_input
        self.fc1 = BinLinear(20, 24, bias=False)
        self.bn1 = nn.BatchNorm1d(24)
        self.fc2 = BinLinear(24, 6, bias=False)
        self.bn2 = nn.BatchNorm1d(6)

    def forward(self, x):
        x = self.sign_input(x)
        x = ste_sign(self.bn1(self.fc1(x)))
        return self.bn2(self.fc2(x))


@pytest.mark.parametrize("sign", ["torch.sign", "SignActivation"])
def test_sign_on_the_float_input_and_a_batchnorm_head(sign):
    torch.manual_seed(9)
    model = HandBNN(torch.sign if sign == "torch.sign" else qnn.SignActivation())
    randomize_batchnorm(model, seed=10, negative_fraction=0.4)
    with torch.no_grad():  # two identical classes: their logits tie, the argmax takes the first
        model.fc2.weight[4] = model.fc2.weight[1]
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(model.bn2, name)[4] = getattr(model.bn2, name)[1]
    x = torch.randn(400, 20, generator=torch.Generator().manual_seed(11))
    x[0] = 0.0
    x[1, :7] = -0.0
    compiled = check(model, x, float_exact=True)
    assert compiled.interface.output_kind == "ordinal"
    enc = compiled.interface.input_encoding
    if sign == "SignActivation":
        assert enc == {"kind": "threshold", "threshold": 0.0}  # +1 at 0 and at -0.0, as sign_ste gives
    else:
        assert enc["kind"] == "thresholds" and enc["codes"] == [[0, 1, 2]]  # -1, 0, +1: torch.sign(0) is 0
    with torch.no_grad():
        ties = model(x)[:, 1] == model(x)[:, 4]
    assert ties.all() and not (compiled.predict(x, backend="reference") == 4).any()


def test_binary_mlp_with_batchnorm_on_the_logits_saves_its_head(tmp_path):
    torch.manual_seed(12)
    model = nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(16, 12), nn.BatchNorm1d(12),
                          qnn.SignActivation(), qnn.BinaryLinear(12, 5), nn.BatchNorm1d(5))
    randomize_batchnorm(model, seed=13, negative_fraction=0.5)
    x = rand(300, 16, seed=14)
    compiled = check(model, x, float_exact=True)
    compiled.save(tmp_path / "bn_head.nandc")
    loaded = nandc.load(tmp_path / "bn_head.nandc")
    out = loaded.run(x, backend="reference")
    with torch.no_grad():
        assert torch.equal(loaded.to_torch_output(out["logits"]), model(x))
    assert loaded.interface.output_values == compiled.interface.output_values


def test_input_breakpoints_of_a_normalization_and_a_quantizer_match_torch_on_every_step():
    class Normalized(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.3, -0.2]).reshape(2, 1, 1))
            self.q = qnn.ActQuant(3, 0.37, signed=True)
            self.conv = qnn.BinaryConv2d(2, 3, 2)

        def forward(self, x):
            return self.conv(qnn.SignActivation()(self.q((x - self.mean) / 0.7)).mul(1.0))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.mean = torch.nn.Parameter(torch.tensor([0.3, -0.2]).reshape(2, 1, 1), requires_grad=False)
            self.q = qnn.ActQuant(3, 0.37, signed=True)
            self.fc = qnn.Int4Linear(2 * 3 * 3, 4)

        def forward(self, x):
            return self.fc(torch.flatten(self.q((x - self.mean) / 0.7), 1))

    torch.manual_seed(14)
    model = Net().eval()
    compiled = check(model, rand(200, 2, 3, 3, seed=15, scale=4) - 2)
    enc = compiled.interface.input_encoding
    assert enc["kind"] == "thresholds" and len(enc["keys"]) == 2 and len(enc["groups"]) == 18
    # every breakpoint, and the float just below it, gets torch's code
    from nandc.frontend.inputs import keys_to_float32

    keys = np.array([k for group in enc["keys"] for k in group], dtype=np.uint32)
    xs = np.concatenate([keys_to_float32(keys), keys_to_float32(keys - 1)])
    x = torch.from_numpy(np.repeat(xs[:, None], 18, axis=1).reshape(-1, 2, 3, 3).copy())
    with torch.no_grad():
        want = torch.round(model.q((x - model.mean) / 0.7) / model.q.scale).to(torch.int64) + 3
    assert np.array_equal(compiled.encode(x).astype(np.int64), want.numpy())


# ---------------------------------------------------------------------- torch.ao quantization-aware training
def _observe_then_freeze(model, x):
    import torch.ao.quantization as tq

    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(x)
    model.apply(tq.disable_observer)
    return model.eval()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torch_ao_qat_modules_and_fake_quantized_activations():
    import torch.ao.nn.qat as nnqat
    import torch.ao.quantization as tq

    qconfig = tq.get_default_qat_qconfig("fbgemm")  # per-channel int8 weights, fused observers

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = tq.FakeQuantize(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255)
            self.conv = nnqat.Conv2d(1, 4, 3, padding=1, qconfig=qconfig)
            self.bn = nn.BatchNorm2d(4)
            self.act = tq.FakeQuantize(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=15)
            self.fc = nnqat.Linear(4 * 4 * 4, 5, qconfig=qconfig)
            self.out = tq.FakeQuantize(observer=tq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
                                       dtype=torch.qint8)

        def forward(self, x):
            x = self.act(F.relu(self.bn(self.conv(self.inq(x)))))
            return self.out(self.fc(torch.flatten(x, 1)))

    torch.manual_seed(16)
    x = rand(200, 1, 4, 4, seed=17)
    model = _observe_then_freeze(Net(), x)
    compiled = check(model, x)
    assert compiled.interface.output_kind == "codes"
    with torch.no_grad():
        agree = (compiled.predict(x, backend="reference") == model(x).argmax(1).numpy()).mean()
    assert agree >= 0.98
    model.act.enable_observer()
    with pytest.raises(QuantizationError) as info:
        nandc.compile(model, x[:1])
    assert str(info.value) == (
        "layer 'act': the observer of this FakeQuantize is enabled, so its scale changes every time the model "
        "runs; call model.apply(torch.ao.quantization.disable_observer) before compiling"
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")
def test_torch_ao_prepare_qat_fx_model_with_fused_conv_batchnorm():
    import torch.ao.quantization as tq
    from torch.ao.quantization.quantize_fx import prepare_qat_fx

    torch.manual_seed(18)
    float_model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
    x = rand(150, 1, 6, 6, seed=19)
    model = prepare_qat_fx(copy.deepcopy(float_model).train(), tq.get_default_qat_qconfig_mapping("fbgemm"),
                           (x[:1],))
    model = _observe_then_freeze(model, x)
    compiled = check(model, x)
    assert compiled.interface.output_kind == "codes"  # the output is fake-quantized too


def test_forward_hooks_are_refused():
    model = nn.Sequential(qnn.InputBinarize(), qnn.BinaryLinear(4, 2))
    model[1].register_forward_hook(lambda m, i, o: o * 2)
    with pytest.raises(UnsupportedLayer) as info:
        nandc.compile(model, torch.zeros(1, 4))
    assert "  - 1: forward hook (torch.fx does not run hooks: call the layer in forward() instead; for torch.ao " \
           "QAT use prepare_qat_fx)\n" in str(info.value)


def test_adding_tensors_of_unrelated_steps_is_refused():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputQuant(4, 1 / 16)
            self.a = qnn.ActQuant(3, 0.3)
            self.b = qnn.ActQuant(3, 0.2)
            self.fc = qnn.Int4Linear(6, 2)

        def forward(self, x):
            x = self.q(x)
            return self.fc(self.a(x) + self.b(x))

    with pytest.raises(QuantizationError) as info:
        nandc.compile(Net(), torch.zeros(1, 6))
    assert str(info.value) == (
        "'add': cannot add tensors with steps 0.3, 0.2 exactly; an addition needs power-of-two steps "
        "(quantize both branches with power-of-two scales)"
    )


def test_quantize_activations_argument_errors():
    model = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(nandc.NandcError) as info:
        nandc.quantize_activations(model, torch.zeros(4, 3), bits=0)
    assert str(info.value) == "bits must be an integer from 1 to 16, found 0"
    with pytest.raises(nandc.NandcError) as info:
        nandc.quantize_activations(model, torch.zeros(3))
    assert str(info.value) == "calibration_inputs must be a non-empty batch (N, ...), found shape (3,)"
    buf = io.StringIO()
    print(nandc.quantize_activations(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), torch.rand(8, 3)).calibration,
          file=buf)
    assert buf.getvalue().startswith("inserted 1 activation quantizer(s), calibrated on 8 sample(s):\n"
                                     "  act_quant_0 after 0: 8-bit unsigned, scale ")


# ---------------------------------------------------------------------- elementwise activations
def test_every_elementwise_activation_module_folds_into_the_quantizer_after_it():
    """GELU, SiLU, PReLU (a slope per channel), Mish... between BatchNorm and the quantizer: thresholds
    read off torch, equal to the float forward on every sample."""
    from nandc.frontend.converters.activation import ELEMENTWISE_ACTIVATIONS

    x = rand(96, 8, seed=31) * 2 - 0.5
    for i, kind in enumerate(ELEMENTWISE_ACTIVATIONS):
        act = kind(4) if kind is nn.PReLU else kind(0.1, 0.2) if kind is nn.Threshold else kind()
        if kind is nn.PReLU:
            with torch.no_grad():
                act.weight.copy_(torch.tensor([0.25, -0.5, 1.5, 0.0]))
        torch.manual_seed(i)
        fc1, fc2 = nn.Linear(8, 4), nn.Linear(4, 3)
        _int_weights(fc1, fc2, seed=i)
        model = nn.Sequential(qnn.InputQuant(2, 0.25), fc1, nn.BatchNorm1d(4), act, qnn.ActQuant(2, 0.5), fc2)
        randomize_batchnorm(model, seed=i)
        check(model, x, float_exact=True, staged=(False,))


def test_prelu_per_channel_slopes_in_a_staged_convolution():
    torch.manual_seed(32)
    conv, fc = nn.Conv2d(2, 4, 3, padding=1), nn.Linear(4 * 4 * 4, 3)
    _int_weights(conv, fc)
    act = nn.PReLU(4)
    with torch.no_grad():
        act.weight.copy_(torch.tensor([0.25, -0.5, 1.5, 0.0]))
    model = nn.Sequential(qnn.InputQuant(2, 0.25), conv, nn.BatchNorm2d(4), act, qnn.ActQuant(2, 0.5),
                          nn.Flatten(), fc)
    randomize_batchnorm(model, seed=33)
    check(model, rand(64, 2, 4, 4, seed=34) * 2 - 0.5, float_exact=True)


# ---------------------------------------------------------------------- shape idioms
class _ShapeIdioms(nn.Module):
    def __init__(self, how):
        super().__init__()
        self.how, self.q = how, qnn.InputQuant(2, 0.25)
        self.conv, self.act, self.fc = nn.Conv2d(3, 4, 3, padding=1), qnn.ReLUQuant(2, 0.5), nn.Linear(64, 3)
        _int_weights(self.conv, self.fc)

    def forward(self, x):
        y = self.act(self.conv(self.q(x)))
        if self.how == "x.shape[0]":
            y = y.reshape(y.shape[0], -1)
        elif self.how == "x.size()[0]":
            y = y.contiguous().view(y.size()[0], -1)
        elif self.how == "torch.reshape":
            y = torch.reshape(y, (-1, y.shape[1] * y.shape[2] * y.shape[3]))
        else:
            raise AssertionError(self.how)
        return self.fc(y)


@pytest.mark.parametrize("how", ["x.shape[0]", "x.size()[0]", "torch.reshape"])
def test_shape_idioms_of_hand_written_forwards(how):
    check(_ShapeIdioms(how), rand(48, 3, 4, 4, seed=41), float_exact=True)


def test_indexing_a_tensor_is_refused_with_a_message():
    class Pick(_ShapeIdioms):
        def forward(self, x):
            return self.act(self.conv(self.q(x)))[:, 0].flatten(1)

    with pytest.raises(QuantizationError, match=r"^'getitem': indexing or slicing a tensor computed from the input "
                                                r"is not supported"):
        nandc.compile(Pick("x.shape[0]"), rand(1, 3, 4, 4))


# ---------------------------------------------------------------------- softmax heads
class _SoftmaxHead(nn.Module):
    """The PyTorch MNIST example's ending: return F.log_softmax(logits, dim=1)."""

    def __init__(self, how):
        super().__init__()
        self.how, self.q = how, qnn.InputQuant(2, 0.25)
        self.fc1, self.act, self.fc2 = nn.Linear(8, 6, bias=False), qnn.ReLUQuant(2, 0.5), nn.Linear(6, 4, bias=False)
        self.softmax = nn.Softmax(dim=-1)
        _int_weights(self.fc1, self.fc2)

    def forward(self, x):
        y = self.fc2(self.act(self.fc1(self.q(x))))
        if self.how == "F.log_softmax":
            return F.log_softmax(y, dim=1)
        if self.how == "nn.Softmax":
            return self.softmax(y)
        return y.softmax(-1)


@pytest.mark.parametrize("how", ["F.log_softmax", "nn.Softmax", "x.softmax"])
def test_a_final_softmax_is_applied_by_torch_and_the_class_is_the_argmax(how, tmp_path):
    model = _SoftmaxHead(how)
    x = rand(200, 8, seed=51)
    compiled = check(model, x, float_exact=True)
    assert compiled.interface.output_function == ("log_softmax" if "log" in how else "softmax")
    with torch.no_grad():
        assert np.array_equal(compiled.predict(x), model(x).argmax(1).numpy())
    compiled.save(tmp_path / "m.nandc")
    loaded = nandc.load(tmp_path / "m.nandc")
    assert loaded.interface.output_function == compiled.interface.output_function
    assert np.array_equal(loaded.run(x)["logits"], compiled.run(x)["logits"])


def test_softmax_before_another_layer_is_refused():
    class Middle(_SoftmaxHead):
        def forward(self, x):
            return self.fc2(torch.softmax(self.fc1(self.q(x)), dim=1))

    with pytest.raises(QuantizationError, match=r"^layer 'fc2' uses the output of softmax; softmax and log_softmax "
                                                r"are supported only as the model's last layer"):
        nandc.compile(Middle("x.softmax"), rand(1, 8))
    model = nn.Sequential(qnn.InputQuant(2, 0.25), nn.Linear(8, 3), nn.Softmax(dim=0))
    _int_weights(model[1])
    with pytest.raises(QuantizationError, match=r"softmax over dim=0 is not supported"):
        nandc.compile(model, rand(1, 8))


def test_functional_dropout_is_the_identity_in_eval_mode_and_random_dropout_is_refused():
    class Net(_SoftmaxHead):
        def forward(self, x):
            y = F.dropout(self.act(F.relu(self.fc1(self.q(x)), inplace=True)), 0.3, training=self.training)
            return self.fc2(F.alpha_dropout(y.unsqueeze(-1), training=False).squeeze(-1)) if self.how else self.fc2(
                F.dropout(y, 0.3))

    check(Net("eval"), rand(64, 8, seed=61), float_exact=True)
    with pytest.raises(QuantizationError, match=r"dropout with training=True drops values at random even in eval"):
        nandc.compile(Net(""), rand(1, 8))


# ---------------------------------------------------------------------- the float input, reshaped and normalized
class _FlatDigits(nn.Module):
    """MNIST-tutorial style: flat 64-pixel rows, reshaped in forward, normalized, then quantized."""

    def __init__(self, how):
        super().__init__()
        self.how, self.q = how, qnn.InputQuant(2, 0.25)
        self.unflatten = nn.Unflatten(1, (1, 8, 8))
        self.conv, self.act, self.fc = nn.Conv2d(1, 4, 3), qnn.ReLUQuant(2, 0.5), nn.Linear(4 * 6 * 6, 3)
        _int_weights(self.conv, self.fc)

    def forward(self, x):
        if self.how == "view":
            x = self.q(x.view(-1, 1, 8, 8))
        elif self.how in ("nn.Unflatten", "transposed"):
            x = self.q(self.unflatten(x))
        else:  # a normalization between the reshape and the quantizer
            x = self.q((x.view(x.size(0), 1, 8, 8) - 0.5) / 0.3)
        y = self.act(self.conv(x))
        return self.fc(y.transpose(2, 3).flatten(1) if self.how == "transposed" else y.flatten(1))


@pytest.mark.parametrize("how", ["view", "nn.Unflatten", "normalized"])
def test_the_float_input_reshaped_in_forward(how):
    compiled = check(_FlatDigits(how), rand(64, 64, seed=71), float_exact=True)
    assert compiled.interface.input_shape == (64,)


def test_transpose_in_a_flat_circuit():
    check(_FlatDigits("transposed"), rand(64, 64, seed=74), float_exact=True, staged=(False,))


def test_a_normalization_before_the_input_quantizer_is_part_of_the_input_encoding():
    """(x - mean) / std, then InputQuant: the encoding is read off torch (it used to skip the normalization)."""
    torch.manual_seed(72)
    fc = nn.Linear(12, 3)
    _int_weights(fc)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.fc = qnn.InputQuant(2, 0.25), fc

        def forward(self, x):
            return self.fc(self.q((x - 0.4) / 0.7))

    compiled = check(Net(), rand(200, 12, seed=73), float_exact=True)
    assert compiled.interface.input_encoding["kind"] == "thresholds"
