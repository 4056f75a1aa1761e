"""Staged programs: kernels compiled once per position, bit-exact against flat circuits and torch."""

import numpy as np
import pytest
import torch
from torch import nn

import nandc
import nandc.nn as qnn
from conftest import randomize_batchnorm
from nandc.errors import BackendError, QuantizationError
from nandc.ir.program import Kernel, MaxPool, Reshape, Window


def rand(*shape, seed=0, scale=1.0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * scale


def torch_out(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)


def check(model, x, staged=True, backend="reference", passes="O1"):
    """Compile ``model`` staged (or flat) and compare with torch on every sample."""
    model.eval()
    compiled = nandc.compile(model, x[:1], passes=passes, staged=staged)
    assert staged is None or compiled.staged == staged
    ref = torch_out(model, x)
    out = compiled.run(x, backend=backend)
    got = compiled.to_torch_output(out["logits"])
    bad = (got != ref).reshape(len(x), -1).any(1).nonzero().flatten().tolist()
    assert not bad, f"{len(bad)} of {len(x)} samples differ, first {bad[:5]}"
    if "class" in out:
        assert np.array_equal(out["class"], ref.argmax(1).numpy())
    return compiled, out


class Residual(nn.Module):
    """conv -> bn -> sign, + x (binary, padded), avg pool, bn, 2-bit act, concat with max pool, linear."""

    def __init__(self):
        super().__init__()
        self.q = qnn.InputBinarize(0.5)
        self.conv = qnn.BinaryConv2d(2, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)
        self.act = qnn.SignActivation()
        self.pool = nn.AvgPool2d(2)
        self.bn2 = nn.BatchNorm2d(2)
        self.act2 = qnn.ReLUQuant(2, 0.5)
        self.fc = qnn.Int4Linear(2 * 2 * 2 * 2, 3)

    def forward(self, x):
        x = self.q(x)
        y = self.act(self.bn(self.conv(x))) + x
        y = self.act2(self.bn2(self.pool(y)))
        z = torch.cat([y, nn.functional.max_pool2d(y, 1)], 1)
        return self.fc(torch.flatten(z, 1))


MODELS = {
    "binary padded strided conv, max pool on signs": (
        lambda: nn.Sequential(qnn.InputBinarize(0.3), qnn.BinaryConv2d(2, 5, 3, stride=2, padding=1),
                              nn.BatchNorm2d(5), qnn.SignActivation(), nn.MaxPool2d(2),
                              nn.Flatten(), qnn.BinaryLinear(5 * 2 * 2, 3)),
        (2, 7, 9)),
    "max pool before batchnorm pools the integers (pointwise stage)": (
        lambda: nn.Sequential(qnn.InputBinarize(), qnn.BinaryConv2d(1, 3, 3, padding=1), nn.MaxPool2d(2),
                              nn.BatchNorm2d(3), qnn.SignActivation(), nn.Flatten(),
                              qnn.BinaryLinear(3 * 3 * 3, 4)),
        (1, 6, 6)),
    "int4 multibit, padded max pool, odd sizes": (
        lambda: nn.Sequential(qnn.InputQuant(2, 0.25), qnn.Int4Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                              qnn.ReLUQuant(2, 0.5), nn.MaxPool2d(3, 2, padding=1), qnn.Int4Conv2d(4, 3, 2),
                              nn.BatchNorm2d(3), nn.ReLU(), qnn.ReLUQuant(3, 0.25), nn.Flatten(),
                              qnn.Int4Linear(3 * 3 * 2, 6)),
        (1, 7, 5)),
    "residual add, average pool, concatenation": (Residual, (2, 4, 4)),
    "binary conv with padding 2 on a 3x3 image (valid bits)": (
        lambda: nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryConv2d(3, 4, 3, padding=2), nn.BatchNorm2d(4),
                              qnn.SignActivation(), qnn.BinaryConv2d(4, 2, 2, stride=2),
                              nn.BatchNorm2d(2), qnn.SignActivation(), nn.Flatten(), qnn.BinaryLinear(8, 3)),
        (3, 3, 3)),
    "mbok convolution": (
        lambda: nn.Sequential(qnn.InputQuant(2, 0.25), qnn.MBOKConv2d(2, 3, 3, kernels=2, padding=1),
                              nn.BatchNorm2d(3), qnn.ReLUQuant(2, 0.5), nn.Flatten(), qnn.Int4Linear(3 * 25, 4)),
        (2, 5, 5)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_staged_equals_flat_equals_torch(name):
    factory, shape = MODELS[name]
    torch.manual_seed(3)
    model = randomize_batchnorm(factory(), seed=5, negative_fraction=0.4)
    x = rand(120, *shape, seed=7)
    x[0] = 0
    staged, out_s = check(model, x, staged=True)
    flat, out_f = check(model, x, staged=False)
    assert len(staged.program.stages) > 1 and not flat.staged
    assert np.array_equal(out_s["logits"], out_f["logits"])


def test_jit_runs_every_stage_like_the_reference():
    factory, shape = MODELS["residual add, average pool, concatenation"]
    torch.manual_seed(4)
    model = randomize_batchnorm(factory(), seed=6)
    x = rand(700, *shape, seed=8)  # several sample vectors per position
    compiled, ref = check(model, x, staged=True, backend="reference")
    jit = compiled.run(x, backend="jit", threads=2)
    assert np.array_equal(jit["logits"], ref["logits"]) and np.array_equal(jit["class"], ref["class"])


def test_dilated_convolution_compiles_staged_only():
    torch.manual_seed(5)
    model = nn.Sequential(qnn.InputQuant(2, 0.25), qnn.Int4Conv2d(2, 3, 3, padding=2, dilation=2),
                          nn.BatchNorm2d(3), qnn.ReLUQuant(2, 0.5), nn.MaxPool2d(2, dilation=2),
                          nn.Flatten(), qnn.Int4Linear(3 * 2 * 2, 2))
    model = randomize_batchnorm(model, seed=3)
    x = rand(50, 2, 6, 6, seed=1)
    compiled, _ = check(model, x, staged=None)  # staged by itself: a flat circuit cannot dilate
    assert compiled.staged
    assert compiled.program.kernels[0].gather == Window((3, 3), (1, 1), (2, 2), (2, 2))
    with pytest.raises(QuantizationError) as err:
        nandc.compile(model, x[:1], passes="O1", staged=False)
    assert str(err.value) == "layer '1': dilated convolutions compile only as staged programs"


def test_program_structure_of_a_cnn():
    from nandc.lab import zoo

    model = randomize_batchnorm(zoo.int4_cnn(3, 8, (4, 8)))
    compiled = nandc.compile(model, torch.zeros(1, 3, 8, 8), passes="O1", staged=True)
    kinds = [type(op) for op in compiled.program.ops]
    assert kinds == [Kernel, MaxPool, Kernel, MaxPool, Reshape, Kernel]
    conv1, _, conv2, _, _, head = compiled.program.ops
    assert compiled.program.positions(conv1) == 64 and compiled.program.positions(conv2) == 16
    assert compiled.program.positions(head) == 1
    # the first kernel reads one 3x3 window of 3 channels of 2-bit codes, padding needs no valid bus (b = 0)
    net = compiled.program.stages[conv1.stage].netlist
    assert net.input_buses["x"].shape == (27, 2) and "valid" not in net.input_buses
    expected = sum(compiled.program.stages[op.stage].netlist.num_gates * compiled.program.positions(op)
                   for op in compiled.program.kernels)
    assert compiled.gate_evaluations == expected


def test_automatic_choice_between_flat_and_staged():
    from nandc.lab import zoo

    small = zoo.int4_cnn(1, 8, (4, 8))
    assert not nandc.compile(small, torch.zeros(1, 1, 8, 8), passes="O0").staged
    big = zoo.int4_cnn(3, 16, (8, 16))
    compiled = nandc.compile(big, torch.zeros(1, 3, 16, 16), passes="O0")
    assert compiled.staged
    with pytest.raises(BackendError) as err:
        compiled.netlist
    assert str(err.value) == (
        "this model compiled to a staged program of 3 stages, which has no single netlist; use "
        ".program.stages[i].netlist, or compile with staged=False for one flat circuit"
    )


def test_identical_kernels_are_compiled_once():
    conv = qnn.BinaryConv2d(2, 2, 3, padding=1)
    bn = nn.BatchNorm2d(2)

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.conv, self.bn, self.act = qnn.InputBinarize(0.5), conv, bn, qnn.SignActivation()
            self.fc = qnn.BinaryLinear(2 * 5 * 5, 3)

        def forward(self, x):
            x = self.act(self.bn(self.conv(self.q(x))))
            x = self.act(self.bn(self.conv(x)))  # the same layers again
            return self.fc(x.flatten(1))

    model = randomize_batchnorm(Twice(), seed=2)
    compiled, _ = check(model, rand(60, 2, 5, 5, seed=3))
    kernels = compiled.program.kernels
    nets = [compiled.program.stages[op.stage].netlist for op in kernels]
    assert len(kernels) == 3 and nets[0] is nets[1] and nets[2] is not nets[0]


def test_staged_program_round_trips_through_a_file(tmp_path):
    factory, shape = MODELS["residual add, average pool, concatenation"]
    model = randomize_batchnorm(factory(), seed=9)
    x = rand(80, *shape, seed=2)
    compiled, out = check(model, x)
    compiled.save(tmp_path / "m.nandc")
    loaded = nandc.load(tmp_path / "m.nandc")
    assert loaded.staged and len(loaded.program.stages) == len(compiled.program.stages)
    again = loaded.run(x.numpy(), backend="reference")
    assert np.array_equal(again["logits"], out["logits"]) and np.array_equal(again["class"], out["class"])
    assert loaded.num_gates == compiled.num_gates and loaded.gate_evaluations == compiled.gate_evaluations


def test_report_counts_positions_and_evaluations():
    from nandc.backends.report import format_text, from_json, to_json

    factory, shape = MODELS["binary padded strided conv, max pool on signs"]
    model = randomize_batchnorm(factory(), seed=1)
    compiled = nandc.compile(model, torch.zeros(1, *shape), passes="O1", staged=True)
    report = compiled.report()
    assert report.staged and report.gate_evaluations == compiled.gate_evaluations
    conv_rows = [r for r in report.rows if r.layer == "1"]
    assert conv_rows and all(r.positions == 4 * 5 for r in conv_rows)  # 7x9 input, stride 2, padding 1
    assert sum(r.evaluations for r in report.rows) == report.gate_evaluations
    assert from_json(to_json(report)) == report
    text = format_text(report)
    assert "NAND2/position" in text and "positions" in text and "max pool of" in text


def test_staged_report_plots(tmp_path):
    pytest.importorskip("matplotlib")
    from nandc.backends.report import plot

    factory, shape = MODELS["max pool before batchnorm pools the integers (pointwise stage)"]
    compiled = nandc.compile(randomize_batchnorm(factory()), torch.zeros(1, *shape), passes="O0", staged=True)
    path = plot(compiled.report(), tmp_path / "r.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_avg_pool_with_padding_keeps_one_encoding_per_channel():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputQuant(2, 0.25)
            self.conv = qnn.Int4Conv2d(1, 1, 3, padding=1)
            self.bn, self.act = nn.BatchNorm2d(1), qnn.ReLUQuant(2, 0.5)
            self.conv2 = qnn.Int4Conv2d(1, 1, 3)

        def forward(self, x):
            y = self.act(self.bn(self.conv(self.q(x))))
            z = nn.functional.avg_pool2d(y, 2, 1, padding=1)  # border windows hold fewer cells
            return self.conv2(z).flatten(1)

    model = randomize_batchnorm(Mixed())
    compiled = nandc.compile(model, torch.zeros(1, 1, 6, 6), passes="O0", staged=True)  # gcd keeps one encoding
    x = rand(40, 1, 6, 6, seed=4)
    got = compiled.to_torch_output(compiled.run(x, backend="reference")["logits"])
    assert torch.equal(got, torch_out(model, x).flatten(1))


def test_input_encoding_that_varies_over_positions_is_refused():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = qnn.InputQuant(2, 0.25)
            self.conv = qnn.Int4Conv2d(1, 1, 1)
            self.bn, self.act = nn.BatchNorm2d(1), qnn.ReLUQuant(1, 0.25)
            self.conv2 = qnn.Int4Conv2d(1, 1, 3)

        def forward(self, x):
            x = self.q(x)
            y = torch.cat([x, self.act(self.bn(self.conv(x)))], 1)  # channels of 2 and of 1 bit
            return self.conv2(y.view(y.size(0), 1, 8, 4)).flatten(1)  # one channel, both halves

    model = randomize_batchnorm(Mixed(), seed=2)
    with pytest.raises(QuantizationError) as err:
        nandc.compile(model, torch.zeros(1, 1, 4, 4), passes="O0", staged=True)
    assert str(err.value) == (
        "layer 'conv2': the encoding of its input 'view' varies from position to position, so one "
        "kernel cannot serve every position; quantize the input (e.g. with nandc.nn.ReLUQuant) before this layer"
    )
    check(model, rand(30, 1, 4, 4, seed=5), staged=False)  # a flat circuit unrolls every position: fine


def test_damaged_staged_model_files_are_refused(tmp_path):
    import json

    from tests.modelfiles import arrays_of, members_of, npz_of, zip_of
    from nandc.errors import ParseError

    factory, shape = MODELS["binary padded strided conv, max pool on signs"]
    compiled = nandc.compile(randomize_batchnorm(factory()), torch.zeros(1, *shape), passes="O0", staged=True)
    compiled.save(tmp_path / "good.nandc")
    members = members_of((tmp_path / "good.nandc").read_bytes())
    program = json.loads(members["program.json"])
    tensors = arrays_of(members["tensors.npz"])

    def variant(**changes):
        return zip_of({**members, **changes})

    kernel = next(i for i, op in enumerate(program["ops"]) if op["op"] == "Kernel")
    damaged = {
        "unknown tensor": variant(**{"program.json": json.dumps({**program, "ops": [
            {**op, "input": "nowhere"} if i == kernel else op for i, op in enumerate(program["ops"])]})}),
        "stage out of range": variant(**{"program.json": json.dumps({**program, "ops": [
            {**op, "stage": 7} if i == kernel else op for i, op in enumerate(program["ops"])]})}),
        "unknown op": variant(**{"program.json": json.dumps({**program, "ops": [{"op": "Exec"}]})}),
        "short encoding": variant(**{"tensors.npz": npz_of(**{**tensors, "0.a": tensors["0.a"][:-1]})}),
        "zero a": variant(**{"tensors.npz": npz_of(**{**tensors, "0.a": tensors["0.a"] * 0})}),
        "missing stage": zip_of({k: v for k, v in members.items() if not k.startswith("stages/1/")}),
        "interface shape": variant(**{"interface.json": json.dumps(
            {**json.loads(members["interface.json"]), "input_shape": [1, 2, 3]})}),
    }
    for name, data in damaged.items():
        path = tmp_path / "bad.nandc"
        path.write_bytes(data)
        with pytest.raises(ParseError) as err:
            nandc.load(path)
        assert str(err.value).startswith(str(path)), (name, str(err.value))
