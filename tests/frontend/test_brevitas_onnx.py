"""Brevitas models, directly and through QONNX files (Brevitas's export_qonnx, checked with qonnx's execute_onnx).

Needs ``pip install 'nandc[brevitas,onnx]'`` (part of the dev extra); skipped otherwise.
"""

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import nandc
from conftest import randomize_batchnorm
from nandc.errors import UnsupportedLayer

bnn = pytest.importorskip("brevitas.nn")
pytestmark = pytest.mark.filterwarnings("ignore")


def binary_mlp():
    """A binary MLP as Brevitas writes one: binary input, binary weights, BN + binary act, BN head."""
    from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

    return nn.Sequential(
        bnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
        bnn.QuantLinear(20, 24, bias=False, weight_quant=SignedBinaryWeightPerTensorConst), nn.BatchNorm1d(24),
        bnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
        bnn.QuantLinear(24, 6, bias=False, weight_quant=SignedBinaryWeightPerTensorConst), nn.BatchNorm1d(6))


def cnn_4bit():
    """A 4-bit CNN with per-channel weight scales, learned (non power of two) activation scales, Int32 bias."""
    from brevitas.quant import Int32Bias

    return nn.Sequential(
        bnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
        bnn.QuantConv2d(1, 4, 3, padding=1, weight_bit_width=4, weight_scaling_per_output_channel=True),
        nn.BatchNorm2d(4), bnn.QuantReLU(bit_width=4, return_quant_tensor=True), nn.MaxPool2d(2), nn.Flatten(),
        bnn.QuantLinear(4 * 3 * 3, 5, weight_bit_width=4, weight_scaling_per_output_channel=True, bias=True,
                        bias_quant=Int32Bias))


def _prepared(factory, x, seed):
    torch.manual_seed(seed)
    model = randomize_batchnorm(factory(), seed=seed)
    model.train()
    with torch.no_grad():  # let the activation scales learn from data (they end up not powers of two)
        for _ in range(3):
            model(x)
    return model.eval()


def _float(model, x):
    with torch.no_grad():
        out = model(x)
    return getattr(out, "value", out)


def _check(compiled, x):
    out = compiled.run(x, backend="reference")
    got = compiled.to_torch_output(out["logits"])
    ref = compiled.reference(x)
    bad = int((got != ref).reshape(len(x), -1).any(1).sum())
    assert bad == 0, f"{bad} of {len(x)} samples differ from the integer reference"
    assert np.array_equal(out["class"], ref.argmax(1).numpy())
    return out


MODELS = {"binary MLP": (binary_mlp, (20,)), "4-bit CNN, per-channel scales": (cnn_4bit, (1, 6, 6))}


def _inputs(shape, n=150, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n,) + shape, generator=g) if len(shape) == 1 else torch.rand((n,) + shape, generator=g)


@pytest.mark.parametrize("name", ["binary MLP", pytest.param("4-bit CNN, per-channel scales", marks=pytest.mark.slow)])
def test_brevitas_models_bit_exact_flat_and_staged(name):
    factory, shape = MODELS[name]
    x = _inputs(shape)
    model = _prepared(factory, x, seed=3)
    scales = [float(m.act_quant.scale()) for m in model.modules() if isinstance(m, bnn.QuantReLU)]
    assert all(np.frexp(s)[0] != 0.5 for s in scales)  # learned scales are not powers of two
    for staged in (False, True):
        compiled = nandc.compile(model, x[:1], passes="O1", staged=staged)
        out = _check(compiled, x)
        assert (out["class"] == _float(model, x).argmax(1).numpy()).mean() >= 0.98


def mobilenet_block():
    """A MobileNet-style block: depthwise 3x3 and pointwise 1x1 QuantConv2d, learned activation scales,
    global average pooling (over codes whose step is not a power of two)."""
    return nn.Sequential(
        bnn.QuantIdentity(bit_width=4, return_quant_tensor=True),
        bnn.QuantConv2d(4, 4, 3, padding=1, groups=4, weight_bit_width=4), nn.BatchNorm2d(4),
        bnn.QuantReLU(bit_width=4, return_quant_tensor=True),
        bnn.QuantConv2d(4, 8, 1, weight_bit_width=4), nn.BatchNorm2d(8), bnn.QuantReLU(bit_width=4),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), bnn.QuantLinear(8, 3, bias=False, weight_bit_width=4))


@pytest.mark.slow
def test_brevitas_depthwise_block_with_global_average_pooling():
    x = torch.rand(120, 4, 6, 6, generator=torch.Generator().manual_seed(5))
    model = _prepared(mobilenet_block, x, seed=6)
    for staged in (False, True):
        out = _check(nandc.compile(model, x[:1], passes="O1", staged=staged), x)
        assert (out["class"] == _float(model, x).argmax(1).numpy()).mean() >= 0.95


def test_brevitas_weights_come_from_its_integer_view():
    from nandc.frontend.converters.brevitas import weight_grid_of

    model = _prepared(cnn_4bit, _inputs((1, 6, 6)), seed=4)
    conv = model[1]
    grid = weight_grid_of(conv, "1")
    qw = conv.quant_weight()
    assert grid.per_channel and np.array_equal(grid.q, qw.int().numpy().astype(np.int64))
    assert np.array_equal(grid.scale, qw.scale.detach().reshape(-1).numpy())
    assert grid.levels <= 7


def test_unsupported_brevitas_layers_are_named():
    model = nn.Sequential(bnn.QuantIdentity(bit_width=4), bnn.QuantConv1d(1, 2, 3, weight_bit_width=4))
    with pytest.raises(UnsupportedLayer) as info:
        nandc.compile(model, torch.zeros(1, 1, 8))
    assert "  - 1: brevitas.nn.quant_conv.QuantConv1d\n" in str(info.value)


# ---------------------------------------------------------------------- QONNX
onnx = pytest.importorskip("onnx")


def _export(model, x, path):
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, x[:1], export_path=str(path))


def _execute_onnx(path, x):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    mw = ModelWrapper(str(path)).transform(InferShapes())
    iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
    return np.concatenate([execute_onnx(mw, {iname: x[i:i + 1].numpy()})[oname] for i in range(len(x))])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_qonnx_files_from_brevitas_bit_exact_and_checked_with_execute_onnx(name, tmp_path):
    pytest.importorskip("qonnx")
    factory, shape = MODELS[name]
    x = _inputs(shape, n=80)
    model = _prepared(factory, x, seed=5)
    path = tmp_path / "model.onnx"
    _export(model, x, path)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert "Quant" in ops or "BipolarQuant" in ops
    expected = _execute_onnx(path, x)
    for staged in (False, True):
        compiled = nandc.compile_onnx(path, passes="O1", staged=staged)
        out = _check(compiled, x)
        assert np.array_equal(out["class"], expected.argmax(1))  # qonnx's own execution agrees on every class
        got = compiled.to_torch_output(out["logits"]).numpy()
        assert np.allclose(got, expected, rtol=1e-5, atol=1e-5)


def _graph(nodes, inits, in_shape, out_shape):
    from onnx import TensorProto, helper, numpy_helper

    return helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, dtype=np.int64 if k == "shape" else np.float32), k)
         for k, v in inits.items()]))


def test_handwritten_qonnx_graph_with_multithreshold_transpose_and_matmul(tmp_path):
    from onnx import helper

    rng = np.random.default_rng(0)
    thresholds = np.sort(rng.normal(0, 2, (3, 3)), axis=1)  # 2-bit activations, per channel
    nodes = [
        helper.make_node("Quant", ["x", "s_in", "zero", "bits8"], ["xq"], domain="qonnx.custom_op.general",
                         signed=0, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w", "s_w", "zero", "bits4"], ["wq"], domain="qonnx.custom_op.general",
                         signed=1, narrow=1, rounding_mode="ROUND"),
        helper.make_node("Conv", ["xq", "wq"], ["c"], kernel_shape=[2, 2], pads=[0, 0, 0, 0]),
        helper.make_node("MultiThreshold", ["c", "t"], ["a"], domain="qonnx.custom_op.general", out_scale=1.0,
                         out_bias=0.0),
        helper.make_node("Transpose", ["a"], ["at"], perm=[0, 2, 3, 1]),
        helper.make_node("Reshape", ["at", "shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "m"], ["mm"]),
        helper.make_node("Mul", ["mm", "scale_out"], ["y"]),
    ]
    inits = {"s_in": 1 / 255, "zero": 0.0, "bits8": 8.0, "bits4": 4.0, "s_w": rng.uniform(0.05, 0.2, (3, 1, 1, 1)),
             "w": rng.normal(0, 0.5, (3, 1, 2, 2)), "t": thresholds, "shape": [1, -1],
             "m": np.round(rng.normal(0, 2, (27, 4))), "scale_out": rng.uniform(0.5, 2, (4,))}
    path = tmp_path / "hand.onnx"
    onnx.save(_graph(nodes, inits, [1, 1, 4, 4], [1, 4]), str(path))
    compiled = nandc.compile_onnx(path, passes="O1", staged=False)
    x = torch.rand(60, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    out = _check(compiled, x)
    pytest.importorskip("qonnx")
    expected = _execute_onnx(path, x)
    got = compiled.to_torch_output(out["logits"]).numpy()
    assert np.array_equal(got, expected)  # integer weights and codes: the float execution is exact too


def test_unsupported_onnx_operators_are_listed_at_once(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Softmax", ["x"], ["s"], name="soft"), helper.make_node("Sigmoid", ["s"], ["y"])]
    path = tmp_path / "bad.onnx"
    onnx.save(_graph(nodes, {}, [1, 4], [1, 4]), str(path))
    with pytest.raises(UnsupportedLayer) as info:
        nandc.compile_onnx(path)
    assert str(info.value).startswith("2 node(s) of the model have no nandc converter:\n"
                                      "  - soft: ONNX operator Softmax\n  - y: ONNX operator Sigmoid\n")


def test_damaged_onnx_file_is_a_parse_error(tmp_path):
    path = tmp_path / "damaged.onnx"
    path.write_bytes(b"\x08\x07not a protobuf at all")
    with pytest.raises(nandc.NandcError) as info:
        nandc.compile_onnx(path)
    assert str(info.value).startswith(f"{path}: not a readable ONNX model")


def test_brevitas_ternary_and_2bit_hardtanh():
    from brevitas.quant import SignedTernaryActPerTensorConst, SignedTernaryWeightPerTensorConst

    def ternary():
        return nn.Sequential(
            bnn.QuantIdentity(act_quant=SignedTernaryActPerTensorConst, return_quant_tensor=True),
            bnn.QuantLinear(12, 10, bias=False, weight_quant=SignedTernaryWeightPerTensorConst), nn.BatchNorm1d(10),
            bnn.QuantHardTanh(bit_width=2, max_val=1.0, min_val=-1.0, return_quant_tensor=True),
            bnn.QuantLinear(10, 4, bias=True, weight_bit_width=3))

    x = _inputs((12,), n=200, seed=6)
    model = _prepared(ternary, x, seed=7)
    compiled = nandc.compile(model, x[:1], passes="O1", staged=False)
    _check(compiled, x)
    assert compiled.interface.input_encoding["codes"] == [[0, 1, 2]]  # -1, 0, +1 times the scale


def test_handwritten_qonnx_trunc_on_the_input(tmp_path):
    from onnx import helper

    rng = np.random.default_rng(3)
    qdomain = "qonnx.custom_op.general"
    nodes = [
        helper.make_node("Quant", ["x", "s", "zero", "bits8"], ["xq"], domain=qdomain, signed=0, narrow=0,
                         rounding_mode="ROUND"),
        helper.make_node("Trunc", ["xq", "s", "zero", "bits8", "bits4"], ["xt"], domain=qdomain,
                         rounding_mode="FLOOR"),
        helper.make_node("MatMul", ["xt", "m"], ["y"]),
    ]
    inits = {"s": 1 / 16, "zero": 0.0, "bits8": 8.0, "bits4": 4.0, "m": np.round(rng.normal(0, 2, (6, 3)))}
    model = _graph(nodes, inits, [1, 6], [1, 3])
    model.opset_import.append(helper.make_opsetid(qdomain, 1))
    path = tmp_path / "trunc.onnx"
    onnx.save(model, str(path))
    compiled = nandc.compile_onnx(path, passes="O1")
    x = torch.rand(80, 6, generator=torch.Generator().manual_seed(4)) * 20 - 2
    out = _check(compiled, x)
    pytest.importorskip("qonnx")
    expected = _execute_onnx(path, x)
    assert np.array_equal(compiled.to_torch_output(out["logits"]).numpy(), expected)
