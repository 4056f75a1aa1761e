"""Frontend: a trained PyTorch model -> a Circuit with the model's exact integer semantics.

:func:`build_circuit` traces the model with torch.fx, converts every node with
its registered converter (see :mod:`nandc.frontend.converters`) and adds the
output head: the integer logits as signed words (bus ``logits``) and, for a
vector output, the index of the first maximal logit (bus ``class``), the same
tie rule as ``torch.argmax``.  Importing this package imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from nandc.errors import NandcError, QuantizationError
from nandc.frontend import converters  # noqa: F401  (registers every converter)
from nandc.frontend.arith import explicit_word
from nandc.frontend.convert import convert_graph
from nandc.frontend.materialize import materialize
from nandc.frontend.tracer import trace
from nandc.frontend.values import IntTensor, Pending
from nandc.ir import words
from nandc.ir.circuit import Circuit

__all__ = ["build_circuit", "Interface", "HEAD_LAYER", "ARGMAX_LAYER"]

HEAD_LAYER = "head"
ARGMAX_LAYER = "argmax"


@dataclass(frozen=True)
class Interface:
    """How to feed a compiled model and read its outputs (plain data; saved with the model).

    ``input_encoding`` is the input quantizer's ``encoding()`` dict;
    ``output_step`` and ``output_kind`` tell how integer logits map to torch
    values (``"codes"``: ``value = logits * step``; ``"accumulator"``: the last
    layer's dequantize of ``logits * step``, see ``dequantize``).
    """

    input_name: str
    input_shape: tuple[int, ...]
    input_encoding: dict
    output_shape: tuple[int, ...]
    output_kind: str
    output_step: float
    has_class: bool
    dequantize: Callable[[Any], Any] | None = None  # torch-side only, not saved


def _head(c: Circuit, value) -> tuple[str, float, Callable | None, tuple[int, ...]]:
    if isinstance(value, Pending) and value.chain:
        value = materialize(c, value)
    if isinstance(value, Pending):
        acc, kind, deq = value.acc, "accumulator", value.dequantize
    elif isinstance(value, IntTensor):
        acc, kind, deq = value, "codes", None
    else:
        raise QuantizationError(
            f"the model's output is {type(value).__name__}; expected a tensor computed by nandc layers"
        )
    flat_q, flat_a, flat_b = acc.q.reshape(-1), acc.a.reshape(-1), acc.b.reshape(-1)
    with c.layer(HEAD_LAYER):
        vals = [explicit_word(c, q, int(a), int(b)) for q, a, b in zip(flat_q, flat_a, flat_b)]
    width = max(len(v.bits) for v in vals) if vals else 1
    vals = [words.extend(v, width) for v in vals]
    c.set_output("logits", [bit for v in vals for bit in v.bits], acc.shape + (width,), signed=True)
    if len(acc.shape) == 1 and acc.shape[0] > 1:
        with c.layer(ARGMAX_LAYER):
            idx = words.argmax(c, vals)
        c.set_output("class", idx.bits, (len(idx.bits),))
    return kind, acc.step, deq, acc.shape


def build_circuit(model, example_input, name: str | None = None) -> tuple[Circuit, Interface]:
    """Trace ``model`` and build its exact Circuit; ``example_input`` gives the input shape.

    The model is converted in eval mode (its training flag is restored).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise NandcError(f"expected the model to be a torch.nn.Module, found {type(model).__name__}")
    if not isinstance(example_input, torch.Tensor):
        arr = np.asarray(example_input)
        if arr.dtype.kind not in "biuf":
            raise QuantizationError(f"example_input must be a numeric batch (N, ...), found "
                                    f"{type(example_input).__name__}")
        example_input = torch.as_tensor(arr)
    if example_input.dim() < 2:
        raise QuantizationError(
            f"example_input must be a batch (N, ...), found shape {tuple(example_input.shape)}"
        )
    was_training = model.training
    model.eval()
    try:
        gm = trace(model)
        circuit = Circuit(name or type(model).__name__)
        inputs, out = convert_graph(gm, tuple(example_input.shape[1:]), circuit)
        if not inputs:
            raise QuantizationError(
                "the model's input never reaches an input quantizer; start the model with "
                "nandc.nn.InputBinarize(threshold) or nandc.nn.InputQuant(bits, step)"
            )
        kind, step, deq, shape = _head(circuit, out)
    finally:
        model.train(was_training)
    (input_name, (layer, quantizer)), = inputs.items()
    iface = Interface(
        input_name=input_name,
        input_shape=tuple(int(d) for d in example_input.shape[1:]),
        input_encoding=quantizer.encoding(),
        output_shape=tuple(shape),
        output_kind=kind,
        output_step=float(step),
        has_class="class" in circuit.output_buses,
        dequantize=deq,
    )
    return circuit, iface
