"""`nandc compile` on models as their authors wrote them: --calibrate for float activations, QONNX files."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from nandc.cli import main

FLOAT_RELU_FILE = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn

    input_shape = (10,)


    class Linear4bit(nn.Linear):
        def forward(self, x):
            s = self.weight.abs().max() / 7
            w = self.weight + (torch.round(self.weight / s).clamp(-7, 7) * s - self.weight).detach()
            return F.linear(x, w, self.bias)


    def build():
        torch.manual_seed(0)
        return nn.Sequential(Linear4bit(10, 8), nn.ReLU(), Linear4bit(8, 3)).eval()
''')


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_compile_with_calibration_reports_and_runs_exactly(tmp_path, capsys):
    import torch

    model_file = tmp_path / "float_relu.py"
    model_file.write_text(FLOAT_RELU_FILE)
    rng = np.random.default_rng(0)
    x = rng.random((64, 10)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    spec = f"{model_file}:build"
    code, out, err = run(capsys, "compile", spec, "-o", tmp_path / "m.nandc", "-O1", "-q")
    assert code == 1 and "layer '0' receives the float model input 'x'" in err
    labels = rng.integers(0, 3, 64)
    np.save(tmp_path / "y.npy", labels)
    code, out, err = run(capsys, "compile", spec, "-o", tmp_path / "m.nandc", "-O1", "--calibrate", tmp_path / "x.npy",
                         "--act-bits", "3", "--calibrate-labels", tmp_path / "y.npy")
    assert code == 0, err
    assert "inserted 2 activation quantizer(s), calibrated on 64 sample(s):" in out
    assert "  act_quant_1 after 1: 3-bit unsigned, scale " in out
    assert "argmax agreement with the original model: " in out and "accuracy: " in out
    code, out, err = run(capsys, "run", tmp_path / "m.nandc", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "p.npy")
    assert code == 0, err
    import nandc
    from nandc.files.loader import load_model

    model, _ = load_model(spec)
    q = nandc.quantize_activations(model, x, bits=3)
    compiled = nandc.compile(q, torch.from_numpy(x[:1]), passes="O1")
    assert np.array_equal(np.load(tmp_path / "p.npy"), compiled.reference(x).argmax(1).numpy())


def test_calibration_argument_errors(tmp_path, capsys):
    model_file = tmp_path / "float_relu.py"
    model_file.write_text(FLOAT_RELU_FILE)
    np.save(tmp_path / "x.npy", np.zeros((4, 7), np.float32))
    code, _, err = run(capsys, "compile", f"{model_file}:build", "-o", tmp_path / "m.nandc", "--calibrate",
                       tmp_path / "x.npy")
    assert code == 1 and err == (f"nandc: error: --calibrate {str(tmp_path / 'x.npy')!r} holds samples of shape "
                                 "(7,), but the model's input shape is (10,)\n")
    code, _, err = run(capsys, "compile", f"{model_file}:build", "-o", tmp_path / "m.nandc", "--calibrate-labels",
                       tmp_path / "x.npy")
    assert code == 1 and err == "nandc: error: --calibrate-labels needs --calibrate\n"


def test_compile_a_qonnx_file(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("BipolarQuant", ["x", "one"], ["xb"], domain="qonnx.custom_op.general"),
        helper.make_node("BipolarQuant", ["w", "one"], ["wb"], domain="qonnx.custom_op.general"),
        helper.make_node("MatMul", ["xb", "wb"], ["h"]),
        helper.make_node("BatchNormalization", ["h", "gamma", "beta", "mean", "var"], ["y"]),
    ]
    inits = {"one": np.float32(1.0), "w": rng.normal(size=(12, 4)).astype(np.float32),
             "gamma": rng.uniform(0.5, 2, 4).astype(np.float32), "beta": rng.normal(size=4).astype(np.float32),
             "mean": rng.normal(size=4).astype(np.float32), "var": rng.uniform(0.5, 2, 4).astype(np.float32)}
    graph = helper.make_graph(nodes, "bnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 12])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    path = tmp_path / "bnn.onnx"
    onnx.save(helper.make_model(graph), str(path))
    code, out, err = run(capsys, "compile", path, "-o", tmp_path / "bnn.nandc", "-O1", "-q")
    assert code == 0, err
    x = rng.normal(size=(50, 12)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, err = run(capsys, "run", tmp_path / "bnn.nandc", "--inputs", tmp_path / "x.npy", "-o", tmp_path / "c.npy")
    assert code == 0, err
    sign = np.where(x >= 0, 1.0, -1.0) @ np.where(inits["w"] >= 0, 1.0, -1.0)
    logits = (sign - inits["mean"]) / np.sqrt(inits["var"] + 1e-5) * inits["gamma"] + inits["beta"]
    assert np.array_equal(np.load(tmp_path / "c.npy"), logits.argmax(1))
    code, out, err = run(capsys, "compile", path, "--weights", path, "-o", tmp_path / "bnn.nandc")
    assert code == 1 and err == "nandc: error: --weights does not apply to an ONNX model (its weights are in the file)\n"
