"""Float activations by calibration: :func:`quantize_activations`.

A model trained with quantized weights but float activations (float ReLU
after BatchNorm, a float input) cannot become a circuit as it is: a float
tensor would reach an integer sum.  :func:`quantize_activations` returns a
copy of the model with an :class:`nandc.nn.ActQuant` wherever that happens:

1. the model is traced as :func:`nandc.compile` traces it, and every node
   is classified: quantized codes, a raw accumulation, a float value (after
   BatchNorm, a float activation ...), or the float model input;
2. where a float value (or the input) meets a layer that needs integers --
   a linear or convolution layer, an addition, pooling or a reshape in
   between -- a quantizer goes right after the last elementwise layer that
   made it (so a ReLU -> MaxPool -> Conv gets it after the ReLU);
3. each quantizer's scale comes from the calibration inputs: unsigned
   ``max / (2**bits - 1)`` for values that are never negative, else signed
   ``max|x| / (2**(bits-1) - 1)``, with ``max`` the chosen percentile of the
   observed values (100: the maximum);
4. the argmax agreement of the new model with the original on the
   calibration inputs (and both accuracies when labels are given) is
   measured and attached as ``model.calibration`` (:class:`CalibrationReport`).

The returned model compiles bit-exact: every quantizer's output is codes,
and each accumulation is exact in the integer view.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nandc.errors import NandcError, QuantizationError

__all__ = ["quantize_activations", "CalibrationReport", "QuantPoint"]

_INT, _ACC, _FLOAT, _INPUT, _CONST, _OTHER = "int", "acc", "float", "input", "const", "other"


@dataclass(frozen=True)
class QuantPoint:
    """One inserted quantizer: after ``after`` (a layer name, or ``input``), its bits, scale and sign."""

    after: str
    name: str
    bits: int
    scale: float
    signed: bool


@dataclass
class CalibrationReport:
    """What :func:`quantize_activations` did and what it cost in predictions."""

    points: list[QuantPoint] = field(default_factory=list)
    samples: int = 0
    agreement: float | None = None  # fraction of calibration samples whose argmax did not change
    accuracy_before: float | None = None
    accuracy_after: float | None = None

    def __str__(self) -> str:
        lines = [f"inserted {len(self.points)} activation quantizer(s), calibrated on {self.samples} sample(s):"]
        for p in self.points:
            kind = "signed" if p.signed else "unsigned"
            lines.append(f"  {p.name} after {p.after}: {p.bits}-bit {kind}, scale {p.scale:.6g}")
        if self.agreement is not None:
            lines.append(f"argmax agreement with the original model: {100 * self.agreement:.2f}%")
        if self.accuracy_before is not None:
            change = 100 * (self.accuracy_after - self.accuracy_before)
            lines.append(f"accuracy: {100 * self.accuracy_before:.2f}% -> {100 * self.accuracy_after:.2f}% "
                         f"({change:+.2f} points)")
        return "\n".join(lines)


def _kind(node, modules, consts) -> tuple[str, Any]:
    """``(converter kind, converter)`` of a node (``"none"`` when it has no converter)."""
    from nandc.frontend import registry
    from nandc.frontend.convert import _converter_for

    fn = _converter_for(node, modules)
    if fn is None:
        return "none", None
    kind = registry.KINDS.get(fn, "whole")
    if callable(kind):  # arithmetic: x + y of two tensors is an addition, anything with a constant elementwise
        tensors = [a for a in node.args[:2] if hasattr(a, "op") and a not in consts]
        kind = "movement" if len(tensors) == 2 else "elementwise"
    return kind, fn


def _rounds(node, modules) -> bool:
    """Whether an elementwise node's output is quantized codes."""
    from torch.ao.quantization.fake_quantize import FakeQuantizeBase

    from nandc.frontend.converters.elementwise import _ROUNDING, _ROUNDING_METHODS
    from nandc.nn.base import QuantActivation

    if node.op == "call_module":
        m = modules[node.target]
        name = type(m).__module__ or ""
        return isinstance(m, (QuantActivation, FakeQuantizeBase)) or (
            name.startswith("brevitas.nn") and "Quant" in type(m).__name__)
    if node.op == "call_function":
        return node.target in _ROUNDING
    if node.op == "call_method":
        return node.target in _ROUNDING_METHODS
    return False


def _tensor_args(node, consts) -> list:
    return [a for a in node.all_input_nodes if a not in consts]


def _insertion_points(gm, consts) -> list:
    """Nodes after which a quantizer is needed (see the module docstring)."""
    modules = dict(gm.named_modules())
    state: dict[Any, str] = {}
    producer: dict[Any, Any] = {}  # a float value's last elementwise node (movement passes it on)
    points: list = []

    def need(arg):
        src = producer.get(arg, arg)
        if src not in points:
            points.append(src)

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            state[node], producer[node] = _INPUT, node
            continue
        if node in consts or node.op == "get_attr":
            state[node] = _CONST
            continue
        if node.op == "output":
            continue
        ins = _tensor_args(node, consts)
        kind, _ = _kind(node, modules, consts)
        first = ins[0] if ins else None
        if kind == "identity":
            state[node] = state.get(first, _OTHER)
            producer[node] = producer.get(first, first)
        elif kind == "meta":
            state[node] = _OTHER
        elif kind == "elementwise":
            if _rounds(node, modules) or (len(ins) == 2 and _INT in (state.get(ins[0]), state.get(ins[1]))):
                state[node] = _INT
            else:
                state[node] = _INPUT if state.get(first) == _INPUT else _FLOAT
                producer[node] = node
        elif kind == "movement":
            floats = [a for a in ins if state.get(a) in (_FLOAT, _INPUT)]
            passes = len(ins) == 1 and floats and _passes_floats(node, modules)
            if passes:  # a reshape or max pool of a float value: quantize where it was made
                state[node], producer[node] = state[first], producer.get(first, first)
            else:
                for a in floats:
                    need(a)
                state[node] = _ACC if all(state.get(a) == _ACC for a in ins) and ins else _INT
        else:  # an accumulation (or a layer that needs integers)
            for a in ins:
                if state.get(a) in (_FLOAT, _INPUT):
                    need(a)
            state[node] = _ACC
    return points, state


def _passes_floats(node, modules) -> bool:
    """Max pooling and reshapes commute with a quantizer that follows them; they wait for it."""
    import torch.nn.functional as F
    from torch import nn

    if node.op == "call_module":
        return isinstance(modules[node.target], (nn.MaxPool2d, nn.Flatten))
    if node.op == "call_function":
        return node.target in (F.max_pool2d, torch.flatten)
    return node.op == "call_method" and node.target in ("view", "reshape", "flatten")


class _ObserverModule(torch.nn.Module):
    """Stands where a quantizer will go while the calibration inputs run."""

    def __init__(self, obs: "_Observer"):
        super().__init__()
        self.obs = obs

    def forward(self, x):
        return self.obs(x)


class _Observer:
    """Collects the values seen at one point (a sample of them, to bound memory)."""

    def __init__(self, limit: int = 1 << 22):
        self.chunks: list[np.ndarray] = []
        self.seen = 0
        self.limit = limit

    def __call__(self, x):
        arr = x.detach().to(torch.float64).reshape(-1).numpy()
        if self.seen < self.limit:
            self.chunks.append(arr[: self.limit - self.seen].copy())
            self.seen += min(len(arr), self.limit - self.seen)
        return x

    def values(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0)


def _scale(values: np.ndarray, bits: int, percentile: float) -> tuple[float, bool]:
    signed = bool(values.size and values.min() < 0)
    mags = np.abs(values) if signed else values
    top = float(np.percentile(mags, percentile)) if mags.size else 0.0
    if not np.isfinite(top) or top <= 0:
        top = float(mags.max()) if mags.size and mags.max() > 0 else 1.0
    levels = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
    return top / levels, signed


def _batches(x, size: int = 512):
    for start in range(0, len(x), size):
        yield x[start:start + size]


def _predict(model, x) -> np.ndarray:
    outs = []
    with torch.no_grad():
        for batch in _batches(x):
            out = model(batch)
            out = getattr(out, "value", out)
            outs.append(out.reshape(len(batch), -1).argmax(1).numpy())
    return np.concatenate(outs) if outs else np.zeros(0, dtype=np.int64)


def quantize_activations(model, calibration_inputs, bits: int = 4, input_bits: int = 8,
                         percentile: float = 100.0, labels=None):
    """A copy of ``model`` with an activation quantizer wherever a float tensor would reach the circuit.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model (weights quantized in any way nandc reads); it is
        not changed.
    calibration_inputs : array or tensor (N, ...)
        Representative inputs; the quantizers' scales come from the values
        seen on them.
    bits : int
        Bits of each inserted activation quantizer (1 to 16).
    input_bits : int
        Bits of the quantizer on the model input, when it has none.
    percentile : float
        Which percentile of the observed magnitudes a quantizer's top level
        covers (100: the maximum; e.g. 99.99 clips rare outliers).
    labels : array (N,), optional
        Classes of the calibration inputs, to report both accuracies.

    Returns the new model (a ``torch.fx.GraphModule``); its ``calibration``
    attribute is a :class:`CalibrationReport` (also ``str()``-able).
    """
    from nandc.frontend.convert import fold_constants, layer_names
    from nandc.frontend.tracer import trace
    from nandc.nn import ActQuant

    if not isinstance(model, torch.nn.Module):
        raise NandcError(f"expected the model to be a torch.nn.Module, found {type(model).__name__}")
    for name, value, lo in (("bits", bits, 1), ("input_bits", input_bits, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= 16:
            raise NandcError(f"{name} must be an integer from 1 to 16, found {value!r}")
    if not 0 < float(percentile) <= 100:
        raise NandcError(f"percentile must be in (0, 100], found {percentile!r}")
    x = torch.as_tensor(np.asarray(calibration_inputs.detach().cpu() if hasattr(calibration_inputs, "detach")
                                   else calibration_inputs), dtype=torch.float32)
    if x.dim() < 2 or len(x) == 0:
        raise NandcError(f"calibration_inputs must be a non-empty batch (N, ...), found shape {tuple(x.shape)}")
    original = model
    was_training = original.training
    work = copy.deepcopy(model).eval()
    try:
        gm = trace(work)
        modules = dict(gm.named_modules())
        consts = fold_constants(gm, modules)
        points, states = _insertion_points(gm, consts)
        names = layer_names(gm, consts)
        if not points:
            raise QuantizationError("every activation of this model is already quantized; nothing to calibrate")
        observers: dict[Any, _Observer] = {}
        graph = gm.graph
        for k, node in enumerate(points):
            name = f"act_quant_{k}"
            obs = _Observer()
            observers[node] = obs
            gm.add_submodule(name, _ObserverModule(obs))
            with graph.inserting_after(node):
                new = graph.call_module(name, (node,))
            node.replace_all_uses_with(new, delete_user_cb=lambda user, _new=new: user is not _new)
        graph.lint()
        gm.recompile()
        with torch.no_grad():
            for batch in _batches(x):
                gm(batch)
        report = CalibrationReport(samples=len(x))
        for k, node in enumerate(points):
            name = f"act_quant_{k}"
            on_input = node.op == "placeholder" or states.get(node) == _INPUT
            nbits = input_bits if on_input else bits
            scale, signed = _scale(observers[node].values(), nbits, float(percentile))
            if signed and nbits < 2:
                nbits = 2
            setattr(gm, name, ActQuant(nbits, scale, signed))
            report.points.append(QuantPoint("input" if node.op == "placeholder" else names[node], name, nbits,
                                            float(np.float32(scale)), signed))
        gm.recompile()
        gm.eval()
        original.eval()
        before = _predict(original, x)
        after = _predict(gm, x)
        report.agreement = float(np.mean(before == after))
        if labels is not None:
            y = np.asarray(labels).reshape(-1)
            if len(y) != len(x):
                raise NandcError(f"labels must have one class per calibration input ({len(x)}), found {len(y)}")
            report.accuracy_before = float(np.mean(before == y))
            report.accuracy_after = float(np.mean(after == y))
    finally:
        original.train(was_training)
    gm.calibration = report
    return gm
