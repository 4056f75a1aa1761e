"""Elementwise torch functions and arithmetic with constants, as folded steps.

Any elementwise function called in ``forward`` -- ``torch.sign``,
``torch.round``, ``clamp``, ``tanh``, ``x * c + d`` with a constant ``c``
(a number, or a tensor computed from parameters, one value per channel) --
is appended to the pending chain of the accumulation it follows, like
BatchNorm, and folded into thresholds read off torch (see
:mod:`nandc.frontend.materialize`).  Nothing is re-implemented: the step
calls the function itself.

Rounding functions (``round``, ``sign``, ``floor``, ``ceil``, ``trunc``)
mark the chain as quantizing, so the grid of its values may be inferred;
multiplying or shifting a quantized value by a constant keeps it so.  Two
values computed from the same accumulation meet elementwise in one step:
a straight-through estimator ``x + (torch.sign(x) - x).detach()`` is the
function ``d -> d + (sign(d) - d)`` of that accumulation, which rounds.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.converters.residual import _staged_add, convert_add
from nandc.frontend.registry import function_converter, method_converter
from nandc.frontend.staging import ProgramTensor, StageValue
from nandc.frontend.values import ChainStep, Const, FloatInput, IntTensor, Pending

__all__ = ["elementwise_step", "combine"]

_ROUNDING = {torch.round, torch.sign, torch.floor, torch.ceil, torch.trunc, torch.fix}
_ROUNDING_METHODS = {"round", "sign", "floor", "ceil", "trunc", "fix"}
_ARITH = {operator.add: "add", operator.sub: "sub", operator.mul: "mul", operator.truediv: "div",
          torch.add: "add", torch.sub: "sub", torch.mul: "mul", torch.div: "div", torch.true_divide: "div"}
_OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}


def _is_tensor_value(v) -> bool:
    return isinstance(v, (FloatInput, Pending, IntTensor, StageValue, ProgramTensor))


def _unwrap(v):
    if isinstance(v, Const):
        return v.value.detach() if isinstance(v.value, torch.Tensor) else v.value
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x) for x in v)
    return v


def _chain_rounds(value) -> bool:
    """Whether ``value`` lies on a grid before the next step."""
    if isinstance(value, IntTensor):
        return True
    if isinstance(value, Pending):
        return value.chain[-1].rounds if value.chain else value.exact
    if isinstance(value, FloatInput):
        return bool(value.chain) and value.chain[-1].rounds
    return False


def _check_constants(ctx, value, consts) -> None:
    """Constants must be the same on every position of a channel (the thresholds are per channel)."""
    if isinstance(value, FloatInput):
        return  # input breakpoints are found per element
    shape = tuple(value.shape)
    axis = value.channel_axis if isinstance(value, Pending) else 0
    for c in consts:
        if not isinstance(c, torch.Tensor) or c.dim() == 0:
            continue
        full = (1,) * (len(shape) + 1 - c.dim()) + tuple(c.shape)
        if len(full) > len(shape) + 1:
            raise QuantizationError(f"layer {ctx.layer!r}: a constant of shape {tuple(c.shape)} does not fit "
                                    f"a tensor of shape {shape} per sample")
        varies = [i - 1 for i, d in enumerate(full) if d != 1 and i - 1 != axis]
        if varies:
            raise QuantizationError(
                f"layer {ctx.layer!r}: a constant of shape {tuple(c.shape)} varies along dimension "
                f"{varies[0] + 1} of a tensor of shape (N, {', '.join(map(str, shape))}); only constants with one "
                "value per channel (or one value) fold into thresholds"
            )


def elementwise_step(ctx, value, fn, name: str, quantizes: bool, consts=()):
    """Append ``fn`` (a function of one tensor) to ``value``'s chain."""
    _check_constants(ctx, value, consts)
    return append_step(ctx, value, ChainStep(ctx.layer, name, fn, None, quantizes))


def _apply_chain(chain, t):
    from nandc.frontend.materialize import plain

    for step in chain:
        t = plain(step.fn(t))
    return t


def combine(ctx, left, right, op, name: str):
    """``op(left, right)`` of two values computed from the same accumulation (or both from the input)."""
    if isinstance(left, FloatInput) and isinstance(right, FloatInput) and left.name == right.name:
        lc, rc = left.chain, right.chain

        def fn_in(t):
            return op(_apply_chain(lc, t), _apply_chain(rc, t))

        rounds = any(s.rounds for s in lc + rc)
        return FloatInput(left.name, left.shape, (ChainStep(ctx.layer, name, fn_in, None, rounds),), left.declared)
    if isinstance(left, IntTensor):
        left = append_step(ctx, left, ChainStep(ctx.layer, "identity", lambda t: t))
    if isinstance(right, IntTensor):
        right = append_step(ctx, right, ChainStep(ctx.layer, "identity", lambda t: t))
    if not (isinstance(left, Pending) and isinstance(right, Pending) and left.acc is right.acc
            and left.dequantize is right.dequantize):
        raise QuantizationError(
            f"layer {ctx.layer!r}: {name} of two tensors computed from the input is supported only when both "
            "come from the same layer (as in a straight-through x + (q(x) - x).detach()); "
            "quantize both and use x + y, or rewrite the layer"
        )
    lc, rc = left.chain, right.chain

    def fn(t):
        return op(_apply_chain(lc, t), _apply_chain(rc, t))

    rounds = any(s.rounds for s in lc + rc)
    return Pending(left.acc, left.dequantize, left.layer, (ChainStep(ctx.layer, name, fn, None, rounds),),
                   left.channel_axis, left.exact, left.uniform)


def _same_source(a, b) -> bool:
    if isinstance(a, StageValue) and isinstance(b, StageValue):
        return a.stage is b.stage and isinstance(a.value, Pending) and isinstance(b.value, Pending) \
            and a.value.acc is b.value.acc
    if isinstance(a, FloatInput) and isinstance(b, FloatInput):
        return a.name == b.name
    return False


def _arith_kind(args, kwargs) -> str:
    a, b = (args + [None, None])[:2]
    if _is_tensor_value(a) and _is_tensor_value(b) and not _same_source(a, b):
        return "movement"
    return "elementwise"


def arithmetic(ctx, opname: str, args, kwargs):
    """``a <op> b`` where one side is a constant (or both come from one accumulation)."""
    a, b = args[0], args[1]
    if kwargs.get("alpha", 1) != 1 or kwargs.get("rounding_mode") is not None:
        raise QuantizationError(f"layer {ctx.layer!r}: {opname} with alpha or rounding_mode is not supported")
    op = _OPS[opname]
    if _is_tensor_value(a) and _is_tensor_value(b):
        if opname == "add" and not (isinstance(a, (Pending, FloatInput)) and isinstance(b, (Pending, FloatInput))
                                    and _same_pending(a, b)):
            return convert_add(ctx, operator.add, [a, b], {})
        return combine(ctx, a, b, op, opname)
    if _is_tensor_value(a):
        value, c = a, _unwrap(b)
        fn = (lambda t: op(t, c))
    elif _is_tensor_value(b):
        value, c = b, _unwrap(a)
        fn = (lambda t: op(c, t))
    elif isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and opname != "div":
        return op(a, b)  # shape arithmetic: x.shape[1] * x.shape[2]
    else:
        raise QuantizationError(f"layer {ctx.layer!r}: {opname} without a tensor computed from the input")
    scalar = isinstance(c, (int, float)) or (isinstance(c, torch.Tensor) and c.numel() == 1)
    keeps_grid = scalar and _chain_rounds(value)  # one grid, scaled or shifted
    return elementwise_step(ctx, value, fn, opname, keeps_grid, (c,))


def _same_pending(a, b) -> bool:
    if isinstance(a, FloatInput) and isinstance(b, FloatInput):
        return a.name == b.name
    return isinstance(a, Pending) and isinstance(b, Pending) and a.acc is b.acc


def _register_arith():
    for target, opname in _ARITH.items():
        kw = {"kind": _arith_kind, "staged": _staged_add} if opname == "add" else {"kind": "elementwise"}

        def conv(ctx, fn, args, kwargs, _op=opname):
            return arithmetic(ctx, _op, args, kwargs)

        function_converter(target, **kw)(conv)
    for name in ("add", "sub", "mul", "div"):
        kw = {"kind": _arith_kind, "staged": _staged_add} if name == "add" else {"kind": "elementwise"}

        def mconv(ctx, _name, args, kwargs, _op=name):
            return arithmetic(ctx, _op, args, kwargs)

        method_converter(name, **kw)(mconv)


_register_arith()


def _function_step(quantizes: bool):
    def conv(ctx, fn, args, kwargs):
        rest = [_unwrap(a) for a in args[1:]]
        kw = {k: _unwrap(v) for k, v in kwargs.items()}
        consts = [c for c in list(rest) + list(kw.values()) if isinstance(c, torch.Tensor)]
        return elementwise_step(ctx, args[0], lambda t: fn(t, *rest, **kw), getattr(fn, "__name__", "fn"),
                                quantizes, consts)

    return conv


def _method_step(quantizes: bool):
    def conv(ctx, name, args, kwargs):
        rest = [_unwrap(a) for a in args[1:]]
        kw = {k: _unwrap(v) for k, v in kwargs.items()}
        consts = [c for c in list(rest) + list(kw.values()) if isinstance(c, torch.Tensor)]
        return elementwise_step(ctx, args[0], lambda t: getattr(t, name)(*rest, **kw), name, quantizes, consts)

    return conv


function_converter(*_ROUNDING, kind="elementwise")(_function_step(True))
method_converter(*_ROUNDING_METHODS, kind="elementwise")(_method_step(True))
function_converter(
    torch.clamp, torch.clip, torch.abs, torch.neg, torch.tanh, torch.sigmoid, torch.exp, F.hardtanh, F.relu6,
    F.leaky_relu, F.elu, F.gelu, F.silu, F.sigmoid, F.tanh, F.softsign, F.hardsigmoid, F.hardswish,
    F.mish, F.softplus, F.celu, F.selu, F.prelu, F.logsigmoid, F.hardshrink, F.softshrink, F.tanhshrink,
    torch.square, torch.pow, operator.pow,
    kind="elementwise",
)(_function_step(False))
method_converter("clamp", "clip", "abs", "neg", "tanh", "sigmoid", "relu", "exp", "square", "pow",
                 kind="elementwise")(_method_step(False))


def _no_op(ctx, target, args, kwargs):
    return args[0]


method_converter("detach", "contiguous", "clone", "float", "double", kind="identity")(_no_op)
function_converter(torch.detach, kind="identity")(_no_op)


@function_converter(F.batch_norm, kind="elementwise")
def convert_batch_norm_function(ctx, fn, args, kwargs):
    """``F.batch_norm(x, mean, var, weight, bias, training=False, momentum, eps)`` in eval form (one value
    per channel, on dimension 1)."""
    rest = [_unwrap(a) for a in args[1:]]
    kw = {k: _unwrap(v) for k, v in kwargs.items()}
    training = rest[4] if len(rest) > 4 else kw.get("training", False)
    if training:
        raise QuantizationError(f"layer {ctx.layer!r}: batch_norm with training=True uses batch statistics")
    return append_step(ctx, args[0], ChainStep(ctx.layer, "batch_norm", lambda t: fn(t, *rest, **kw)))
