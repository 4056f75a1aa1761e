"""Input quantizers: the model's float input becomes the program's input tensor of codes."""

from __future__ import annotations

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.values import ChainStep, FloatInput

__all__ = ["convert_input_quantizer"]


def convert_input_quantizer(ctx, module, args, kwargs):
    """Declare the program input ``<placeholder>``: codes of the quantizer's encoding.

    (The first stage that reads it gets an input bus of shape ``(*sample_shape,
    bits)`` for a whole-sample stage.)  On anything but the float model input
    the quantizer is an elementwise step like any activation quantizer.
    """
    x = args[0]
    if not isinstance(x, FloatInput):
        return append_step(ctx, x, ChainStep(ctx.layer, type(module).__name__, module, module.codes()))
    if x.name in ctx.inputs:
        raise QuantizationError(
            f"input {x.name!r} is quantized twice (by {ctx.inputs[x.name][0]!r} and {ctx.layer!r}); "
            "use one input quantizer"
        )
    ctx.inputs[x.name] = (ctx.layer, module)
    return ctx.builder.input_tensor(x.name, x.shape, module.codes(), ctx.layer)
