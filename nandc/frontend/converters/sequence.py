"""Language-model layers: token embeddings, per-head int8 requantization, fixed-point attention.

* :class:`~nandc.nn.transformer.TokenEmbedding` reads the model's token ids:
  they become the program input (codes of ``ceil(log2 vocab)`` bits) and an
  :class:`~nandc.ir.program.Embed` op looks the integer tables up.
* :class:`~nandc.nn.transformer.HeadQuant` builds, inside a token's stage,
  one int8 absmax requantization per head (max tree and dividers, as the
  input of a BitLinear layer).
* :class:`~nandc.nn.transformer.FixedPointAttention` mixes tokens, so it runs
  between stages as an exact :class:`~nandc.ir.program.Attention` op.

All three exist only in staged programs.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.converters.linear import _integer_values, absmax_codes
from nandc.frontend.finite import check_parameters
from nandc.frontend.registry import module_converter
from nandc.frontend.values import FloatInput, IntTensor
from nandc.ir.program import Attention, Embed
from nandc.nn.transformer import FixedPointAttention, HeadQuant, TokenEmbedding

__all__ = ["convert_embedding", "convert_head_quant", "convert_attention"]


@module_converter(TokenEmbedding)
def convert_embedding(ctx, module, args, kwargs):
    x = args[0]
    if not isinstance(x, FloatInput):
        raise QuantizationError(f"layer {ctx.layer!r} (TokenEmbedding) must read the model's token ids directly")
    if len(x.shape) != 1:
        raise QuantizationError(f"layer {ctx.layer!r} expects token ids of shape (N, T), found (N, "
                                f"{', '.join(map(str, x.shape))})")
    if not ctx.staged:
        raise QuantizationError(f"layer {ctx.layer!r} (TokenEmbedding): language models compile only as staged "
                                "programs, one position per token; compile with staged=True (or --staged)")
    if x.shape[0] > module.context:
        raise QuantizationError(f"layer {ctx.layer!r}: {x.shape[0]} tokens exceed its context of {module.context}")
    if x.name in ctx.inputs:
        raise QuantizationError(f"input {x.name!r} is read by {ctx.inputs[x.name][0]!r} and {ctx.layer!r}; "
                                "use one embedding")
    check_parameters(module, ctx.layer)
    ctx.inputs[x.name] = (ctx.layer, module)
    builder = ctx.builder
    ids = builder.token_input(x.name, x.shape, module.vocab, ctx.layer)
    table, positions = (t.numpy() for t in module.int_tables())
    positions = positions[: x.shape[0]]
    lo = table.min(axis=0) + positions.min(axis=0)
    top = table.max(axis=0) + positions.max(axis=0)
    out = builder.add_tensor(ctx.layer, (x.shape[0], module.d_model), 1, lo[None, :], (top - lo)[None, :],
                             2.0 ** -module.frac, ctx.layer)
    builder.add_op(Embed(ids.name, out.name, table, positions, ctx.layer))
    builder.token_tensors.add(out.name)
    return out


@module_converter(HeadQuant, kind="token")
def convert_head_quant(ctx, module, args, kwargs):
    value = args[0]
    width = value.shape[-1] if value.shape else 0
    if len(value.shape) != 1 or width % module.heads:
        raise QuantizationError(f"layer {ctx.layer!r} expects one token of heads * head_dim = a multiple of "
                                f"{module.heads} features, found shape {tuple(value.shape)}")
    vals = _integer_values(ctx, value)
    dh = width // module.heads
    parts = []
    with ctx.circuit.layer(ctx.layer):
        for h in range(module.heads):
            parts.append(absmax_codes(ctx.circuit, vals[h * dh:(h + 1) * dh]))
    return IntTensor(np.concatenate([p.q for p in parts]), np.concatenate([p.a for p in parts]),
                     np.concatenate([p.b for p in parts]), np.concatenate([p.hi for p in parts]), 1.0, ctx.layer)


def _staged_attention(mctx, module, args, kwargs):
    values = list(args) + [kwargs[n] for n in ("q", "k", "v")[len(args):] if n in kwargs]
    if len(values) != 3:
        raise QuantizationError(f"layer {mctx.layer!r} expects three tensors q, k, v, found {len(values)}")
    q, k, v = values
    specs = [mctx.builder.spec(mctx.exact(t)) for t in (q, k, v)]
    shapes = {s.shape for s in specs}
    width = module.heads * module.head_dim
    if len(shapes) != 1 or next(iter(shapes))[1:] != (width,) or len(next(iter(shapes))) != 2:
        raise QuantizationError(f"layer {mctx.layer!r} expects q, k, v of shape (tokens, {width}), found "
                                f"{[s.shape for s in specs]}")
    for s in specs:
        lo, hi = s.value_bounds()
        if lo.min() < -128 or hi.max() > 127 or s.step != 1.0:
            raise QuantizationError(f"layer {mctx.layer!r} reads int8 codes (from nandc.nn.HeadQuant); "
                                    f"{s.name!r} holds [{int(lo.min())}, {int(hi.max())}] times {s.step}")
    shape = specs[0].shape
    out = mctx.builder.add_tensor(mctx.layer, shape, 1, -127, 254, 1.0, mctx.layer)
    mctx.builder.add_op(Attention(q.name, k.name, v.name, out.name, module.heads, module.shift, module.frac_bits,
                                  module.prob_bits, mctx.layer))
    mctx.builder.token_tensors.add(out.name)
    return out


@module_converter(FixedPointAttention, kind="movement", staged=_staged_attention)
def convert_attention(ctx, module, args, kwargs):
    raise QuantizationError(
        f"layer {ctx.layer!r} (FixedPointAttention) mixes tokens and compiles only as a staged program; "
        "compile with staged=True (or --staged)"
    )
