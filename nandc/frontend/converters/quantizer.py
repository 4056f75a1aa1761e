"""Input quantizers: the model's float input becomes the circuit's input bus of codes."""

from __future__ import annotations

import numpy as np

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.values import ChainStep, FloatInput, IntTensor
from nandc.ir.words import Word

__all__ = ["convert_input_quantizer"]


def convert_input_quantizer(ctx, module, args, kwargs):
    """Create the input bus ``<placeholder>`` of shape ``(*sample_shape, bits)``."""
    x = args[0]
    if not isinstance(x, FloatInput):
        return append_step(ctx, x, ChainStep(ctx.layer, type(module).__name__, module, module.codes()))
    if x.name in ctx.inputs:
        raise QuantizationError(
            f"input {x.name!r} is quantized twice (by {ctx.inputs[x.name][0]!r} and {ctx.layer!r}); "
            "use one input quantizer"
        )
    cd = module.codes()
    lits = ctx.circuit.add_input_bus(x.name, x.shape + (cd.bits,))
    n = int(np.prod(x.shape, dtype=np.int64))
    q = np.empty(n, dtype=object)
    for i in range(n):
        q[i] = Word(tuple(lits[i * cd.bits:(i + 1) * cd.bits]), False)
    ctx.inputs[x.name] = (ctx.layer, module)
    shape = x.shape
    return IntTensor(
        q.reshape(shape),
        np.full(shape, cd.a, dtype=np.int64),
        np.full(shape, cd.b, dtype=np.int64),
        np.full(shape, (1 << cd.bits) - 1, dtype=np.int64),
        cd.step,
        ctx.layer,
    )
