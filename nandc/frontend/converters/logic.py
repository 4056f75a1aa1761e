"""Logic layers: hardened Boolean gates gate for gate, and the GroupSum count head.

* :class:`~nandc.nn.hard_logic.BooleanLayer` — gate ``j`` becomes the literal of
  its truth table applied to the literals of its two inputs: a NAND is one
  AND node with a complemented output (one NAND2 after lowering), AND / OR /
  NOR one node, XOR / XNOR three, a wire or an inverter none, a constant
  none.  Its output is an IntTensor of 0/1 bits (``a = 1, b = 0, step = 1``).
* :class:`~nandc.nn.hard_logic.GroupSum` — a popcount per group; a
  :class:`~nandc.frontend.values.Pending` whose ``dequantize`` is the
  module's own ``count / tau``, so the head's ``logits`` are the integer
  counts and ``class`` their first argmax.
* :class:`~nandc.nn.soft_logic.SoftLogic` layers (SoftNAND, LogicLayer) are float
  layers: converting one is an error telling the user to harden the model.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.finite import check_parameters
from nandc.frontend.registry import module_converter
from nandc.frontend.values import IntTensor, Pending
from nandc.ir import words
from nandc.ir.circuit import FALSE, TRUE, Circuit
from nandc.ir.words import Word
from nandc.nn.hard_logic import BooleanLayer, GroupSum
from nandc.nn.gate_functions import LogicConfigError, evaluate
from nandc.nn.soft_logic import SoftLogic

__all__ = ["gate_literal", "bit_literals", "bits_tensor"]


def gate_literal(c: Circuit, t: int, a: int, b: int) -> int:
    """The literal of truth table ``t`` (see :mod:`nandc.nn.gate_functions`) applied to literals ``a``, ``b``.

    Uses the fewest AND nodes: one for the eight functions with one or
    three true rows (NAND included: ``~(a & b)``), three for XOR / XNOR,
    none for wires, inverters and constants.
    """
    rows = [(va, vb) for va in (0, 1) for vb in (0, 1)]
    ones = [r for r in rows if evaluate(t, *r)]
    if not ones:
        return FALSE
    if len(ones) == len(rows):
        return TRUE
    if len(ones) in (1, 3):
        # the odd row out is the minterm m; f = m (one true row) or ~m (three true rows)
        (va, vb), = ones if len(ones) == 1 else [r for r in rows if r not in ones]
        minterm = c.and_(a ^ (1 - va), b ^ (1 - vb))
        return minterm if len(ones) == 1 else minterm ^ 1
    (a0, b0), (a1, b1) = ones
    if a0 == a1:  # depends on a only
        return a ^ (1 - a0)
    if b0 == b1:  # depends on b only
        return b ^ (1 - b0)
    return c.xor(a, b) if (a0, b0) == (0, 1) else c.xor(a, b) ^ 1


def bit_literals(ctx, value, in_features: int) -> list[int]:
    """The literals of a per-sample vector of ``in_features`` 0/1 bits.

    Raises :class:`QuantizationError` unless every element is a one-bit code
    with value ``q`` itself (``a = 1, b = 0, step = 1``): the output of
    ``nandc.nn.InputQuant(bits=1, step=1.0)`` or of another Boolean layer.
    """
    x = ctx.ints(value)
    if x.shape != (in_features,):
        raise QuantizationError(
            f"layer {ctx.layer!r} expects {in_features} input features per sample, found shape {x.shape}; "
            "flatten the input first"
        )
    widths = np.array([len(q.bits) for q in x.q.reshape(-1)], dtype=np.int64)
    if x.step != 1.0 or not (np.all(x.a == 1) and np.all(x.b == 0) and np.all(x.hi == 1) and np.all(widths == 1)):
        raise QuantizationError(
            f"layer {ctx.layer!r} reads 0/1 bits, but the output of {x.source or 'its input'!r} is not "
            f"0/1 (step {x.step}, values ({x.a.reshape(-1)[0]} * q + {x.b.reshape(-1)[0]}) with "
            f"q <= {x.hi.reshape(-1)[0]}); feed it nandc.nn.InputQuant(bits=1, step=1.0) or another logic layer"
        )
    return [q.bits[0] for q in x.q.reshape(-1)]


def bits_tensor(lits: list[int], source: str) -> IntTensor:
    """An IntTensor of 0/1 bits (one-bit words, ``a = 1, b = 0, hi = 1, step = 1``)."""
    n = len(lits)
    q = np.empty(n, dtype=object)
    for i, lit in enumerate(lits):
        q[i] = Word((lit,), False)
    return IntTensor(q, np.ones(n, np.int64), np.zeros(n, np.int64), np.ones(n, np.int64), 1.0, source)


@module_converter(BooleanLayer)
def convert_boolean_layer(ctx, module, args, kwargs):
    x = bit_literals(ctx, args[0], module.in_features)
    check_parameters(module, ctx.layer)
    ia, ib, ops = (t.tolist() for t in (module.index_a, module.index_b, module.ops))
    with ctx.circuit.layer(ctx.layer):
        gates = [gate_literal(ctx.circuit, t, x[i], x[j]) for i, j, t in zip(ia, ib, ops)]
    return bits_tensor(x + gates if module.passthrough else gates, ctx.layer)


def _check_strictly_increasing(ctx, module: GroupSum, size: int) -> None:
    """The float outputs of distinct counts must differ, so torch's argmax is the counts' argmax."""
    import torch

    with torch.no_grad():
        values = module.dequantize(torch.arange(size + 1, dtype=torch.float32))
    if not bool(torch.all(values[1:] > values[:-1])):
        raise QuantizationError(
            f"layer {ctx.layer!r}: GroupSum(tau={module.tau}) maps different counts in 0..{size} to equal "
            "floats, so the predicted class could differ from the circuit's; use a smaller tau"
        )


@module_converter(GroupSum)
def convert_group_sum(ctx, module, args, kwargs):
    value = args[0]
    if len(value.shape) != 1:
        raise QuantizationError(
            f"layer {ctx.layer!r} (GroupSum) expects a vector of features per sample, found shape {value.shape}"
        )
    try:
        size = module.group_size(value.shape[0])
    except LogicConfigError as exc:
        raise QuantizationError(f"layer {ctx.layer!r}: {exc}") from None
    x = bit_literals(ctx, value, value.shape[0])
    _check_strictly_increasing(ctx, module, size)
    n = module.groups
    q = np.empty(n, dtype=object)
    with ctx.circuit.layer(ctx.layer):
        for g in range(n):
            q[g] = words.popcount(ctx.circuit, x[g * size:(g + 1) * size])
    acc = IntTensor(q, np.ones(n, np.int64), np.zeros(n, np.int64), np.full(n, size, np.int64), 1.0, ctx.layer)
    return Pending(acc, module.dequantize, ctx.layer, (), 0, exact=module.tau == 1.0)


@module_converter(SoftLogic)
def convert_soft_layer(ctx, module, args, kwargs):
    soft = [name for name, m in ctx.model.named_modules() if isinstance(m, SoftLogic)]
    raise QuantizationError(
        f"layer {ctx.layer!r} is a soft {type(module).__name__} whose output is a float, not a bit "
        f"(soft layers in the model: {', '.join(soft)}); harden the model before compiling: "
        "model = nandc.nn.harden(model)"
    )
