"""QONNX import (``pip install nandc[onnx]``): ``nandc.compile_onnx(path)`` and ``nandc compile model.onnx``.

A QONNX file -- as Brevitas's ``export_qonnx`` and FINN write it -- becomes
a torch.fx graph of torch functions and QONNX quantizer modules
(:mod:`nandc.frontend.converters.qonnx`), which the frontend then compiles
like any PyTorch model: weights behind ``Quant`` nodes are folded into
constants and their integer grid found, activation quantizers fold into
thresholds.  Supported operators: ``Quant``, ``BipolarQuant``, ``Trunc``,
``MultiThreshold``, ``Gemm``, ``MatMul``, ``Conv``, ``BatchNormalization``,
``Relu``, ``MaxPool``, ``Add``, ``Mul``, ``Div``, ``Sub``, ``Reshape``,
``Flatten``, ``Transpose`` (plus ``Identity``, ``Dropout``, ``Constant``);
every other operator is listed in one :class:`~nandc.errors.UnsupportedLayer`.

The graph must have one input; its first dimension is the batch.  Each
operator computes what QONNX's ``execute_onnx`` computes, except that sums
(``Gemm``, ``MatMul``, ``Conv``) are exact on integers, as everywhere in
nandc (see :mod:`nandc.frontend.reference`).
"""

from __future__ import annotations

import operator
import os
import re
from typing import Any

import numpy as np

from nandc.errors import NandcError, ParseError, QuantizationError, UnsupportedLayer

__all__ = ["load_onnx", "SUPPORTED_OPS"]

SUPPORTED_OPS = ("Quant", "BipolarQuant", "Trunc", "MultiThreshold", "Gemm", "MatMul", "Conv",
                 "BatchNormalization", "Relu", "MaxPool", "Add", "Mul", "Div", "Sub", "Reshape", "Flatten",
                 "Transpose", "Identity", "Dropout", "Constant")


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise NandcError("reading ONNX files needs the onnx package: pip install 'nandc[onnx]'") from None
    return onnx


def _ident(name: str, fallback: str) -> str:
    text = re.sub(r"\W", "_", name).strip("_") or fallback
    return ("n_" + text) if text[0].isdigit() else text


def _attrs(node) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _pair(v, n: int = 2) -> tuple[int, ...]:
    v = list(v)
    return tuple(int(x) for x in v[:n])


class _Builder:
    """Turns ONNX nodes into fx nodes on a root module holding the constants."""

    def __init__(self, model, path: str):
        import torch
        import torch.fx as fx

        self.torch = torch
        self.path = path
        self.graph = fx.Graph()
        self.root = torch.nn.Module()
        self.values: dict[str, Any] = {}  # ONNX value name -> fx node
        self.consts: dict[str, np.ndarray] = {}  # ONNX value name -> numpy constant (initializers, Constant)
        self.names: set[str] = set()
        self.model = model

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names or hasattr(self.root, name):
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def constant(self, value_name: str):
        """The fx node of a constant (a buffer read by get_attr), made once."""
        if value_name not in self.values:
            attr = self.unique(_ident(value_name, "const"))
            arr = self.consts[value_name]
            self.root.register_buffer(attr, self.torch.tensor(np.array(arr)))
            self.values[value_name] = self.graph.get_attr(attr)
        return self.values[value_name]

    def input(self, node, i: int):
        if i >= len(node.input) or not node.input[i]:
            return None
        name = node.input[i]
        if name in self.values:
            return self.values[name]
        if name in self.consts:
            return self.constant(name)
        raise ParseError(f"node {node.name or node.op_type!r} reads {name!r}, which no earlier node makes", self.path)

    def array(self, node, i: int, what: str) -> np.ndarray:
        """A constant input as numpy (scales, shapes, bit widths)."""
        name = node.input[i] if i < len(node.input) else ""
        if name not in self.consts:
            raise QuantizationError(f"{node.name or node.op_type!r}: its {what} must be a constant (an initializer)")
        return self.consts[name]

    def call(self, fn, args, kwargs=None, name: str = ""):
        return self.graph.call_function(fn, tuple(args), kwargs or {})

    def module(self, node, mod):
        attr = self.unique(_ident(node.name or node.output[0], node.op_type.lower()))
        self.root.add_module(attr, mod)
        return self.graph.call_module(attr, (self.input(node, 0),))


def _supported(model) -> None:
    missing = [(n.name or n.output[0], f"ONNX operator {n.domain + '.' if n.domain else ''}{n.op_type}")
               for n in model.graph.node if n.op_type not in SUPPORTED_OPS]
    if missing:
        raise UnsupportedLayer(missing)


def _convert_node(b: _Builder, node) -> Any:
    import torch
    import torch.nn.functional as F

    from nandc.frontend.converters.qonnx import QonnxBipolarQuant, QonnxMultiThreshold, QonnxQuant, QonnxTrunc

    op, a = node.op_type, _attrs(node)
    where = node.name or node.output[0]
    if op == "Quant":
        mod = QonnxQuant(b.array(node, 1, "scale"), b.array(node, 2, "zero point"), b.array(node, 3, "bit width"),
                         bool(a.get("signed", 1)), bool(a.get("narrow", 0)), a.get("rounding_mode", "ROUND"), where)
        return b.module(node, mod)
    if op == "BipolarQuant":
        return b.module(node, QonnxBipolarQuant(b.array(node, 1, "scale")))
    if op == "Trunc":
        if len(node.input) > 5:
            raise QuantizationError(f"{where!r}: Trunc with an output scale (version 2) is not supported")
        return b.module(node, QonnxTrunc(b.array(node, 1, "scale"), b.array(node, 2, "zero point"),
                                         b.array(node, 3, "input bit width"), b.array(node, 4, "output bit width"),
                                         a.get("rounding_mode", "FLOOR"), where))
    if op == "MultiThreshold":
        layout = a.get("data_layout", "NCHW")
        return b.module(node, QonnxMultiThreshold(b.array(node, 1, "thresholds"), a.get("out_scale", 1.0),
                                                  a.get("out_bias", 0.0), layout in ("NHWC", "NC") and
                                                  layout.endswith("C") and layout != "NC"))
    x = b.input(node, 0)
    if op in ("Identity", "Dropout"):
        return x
    if op == "Relu":
        return b.call(F.relu, [x])
    if op in ("Add", "Sub", "Mul", "Div"):
        fn = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Div": operator.truediv}[op]
        return b.call(fn, [x, b.input(node, 1)])
    if op == "Gemm":
        if a.get("transA", 0):
            raise QuantizationError(f"{where!r}: Gemm with transA=1 is not supported")
        w = b.input(node, 1)
        if not a.get("transB", 0):
            w = b.call(torch.t, [w])
        if a.get("alpha", 1.0) != 1.0:
            w = b.call(operator.mul, [w, float(a["alpha"])])
        bias = b.input(node, 2)
        if bias is not None and a.get("beta", 1.0) != 1.0:
            bias = b.call(operator.mul, [bias, float(a["beta"])])
        return b.call(F.linear, [x, w, bias])
    if op == "MatMul":
        return b.call(operator.matmul, [x, b.input(node, 1)])
    if op == "Conv":
        if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
            raise QuantizationError(f"{where!r}: Conv with auto_pad={a['auto_pad']!r} is not supported")
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
            raise QuantizationError(f"{where!r}: Conv needs equal padding on both sides, found pads {pads}")
        return b.call(F.conv2d, [x, b.input(node, 1), b.input(node, 2)],
                      {"stride": _pair(a.get("strides", [1, 1])), "padding": (pads[0], pads[1]),
                       "dilation": _pair(a.get("dilations", [1, 1])), "groups": int(a.get("group", 1))})
    if op == "BatchNormalization":
        ins = [b.input(node, i) for i in range(1, 5)]
        return b.call(F.batch_norm, [x, ins[2], ins[3], ins[0], ins[1], False, 0.0, float(a.get("epsilon", 1e-5))])
    if op == "MaxPool":
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if len(pads) != 4 or pads[0] != pads[2] or pads[1] != pads[3]:
            raise QuantizationError(f"{where!r}: MaxPool needs equal padding on both sides, found pads {pads}")
        kernel = _pair(a["kernel_shape"])
        return b.call(F.max_pool2d, [x, kernel, _pair(a.get("strides", kernel)), (pads[0], pads[1]),
                                     _pair(a.get("dilations", [1, 1])), bool(a.get("ceil_mode", 0))])
    if op == "Flatten":
        if a.get("axis", 1) != 1:
            raise QuantizationError(f"{where!r}: Flatten with axis {a.get('axis')} is not supported (axis 1 is)")
        return b.call(torch.flatten, [x, 1])
    if op == "Reshape":
        shape = [int(v) for v in b.array(node, 1, "shape").reshape(-1)]
        if 0 in shape[1:]:
            raise QuantizationError(f"{where!r}: Reshape with 0 (copy a dimension) is not supported, found {shape}")
        batch = b.graph.call_method("size", (x, 0))
        return b.graph.call_method("reshape", (x, batch, *shape[1:]))
    if op == "Transpose":
        perm = [int(v) for v in a.get("perm", [])]
        return b.graph.call_method("permute", (x, *perm))
    raise UnsupportedLayer([(where, f"ONNX operator {op}")])  # pragma: no cover - filtered by _supported


def load_onnx(path: str | os.PathLike):
    """``(model, input_shape)``: the torch module of a QONNX file and its per-sample input shape."""
    import torch.fx as fx

    from nandc.frontend.tracer import TRACED

    onnx = _require_onnx()
    from onnx import numpy_helper

    path = os.fspath(path)
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise NandcError(f"no such file: {path}") from None
    except Exception as exc:  # protobuf raises DecodeError, and others for damaged files
        raise ParseError(f"not a readable ONNX model: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                         path) from None
    _supported(model)
    b = _Builder(model, path)
    for init in model.graph.initializer:
        b.consts[init.name] = numpy_helper.to_array(init)
    inputs = [i for i in model.graph.input if i.name not in b.consts]
    if len(inputs) != 1:
        raise QuantizationError(f"expected an ONNX graph with one input, found {len(inputs)}: "
                                f"{[i.name for i in inputs]}")
    dims = [d.dim_value if d.HasField("dim_value") else 0 for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) < 2 or any(d <= 0 for d in dims[1:]):
        raise QuantizationError(f"input {inputs[0].name!r} must have a batch dimension and known sizes, found {dims}")
    b.values[inputs[0].name] = b.graph.placeholder(_ident(inputs[0].name, "x"))
    for node in model.graph.node:
        if node.op_type == "Constant":
            b.consts[node.output[0]] = numpy_helper.to_array(_attrs_raw(node)["value"])
            continue
        out = _convert_node(b, node)
        b.values[node.output[0]] = out
    outputs = list(model.graph.output)
    if len(outputs) != 1 or outputs[0].name not in b.values:
        raise QuantizationError(f"expected an ONNX graph with one output, found {[o.name for o in outputs]}")
    b.graph.output(b.values[outputs[0].name])
    name = _ident(os.path.splitext(os.path.basename(path))[0], "onnx_model")
    gm = fx.GraphModule(b.root, b.graph, name)
    setattr(gm, TRACED, True)
    return gm.eval(), tuple(int(d) for d in dims[1:])


def _attrs_raw(node) -> dict[str, Any]:
    return {a.name: a.t for a in node.attribute if a.name == "value"}
