"""Input quantizers: the model's float input becomes the program's input tensor of codes."""

from __future__ import annotations

from nandc.errors import QuantizationError
from nandc.frontend.convert import append_step
from nandc.frontend.inputs import program_input
from nandc.frontend.values import ChainStep, FloatInput

__all__ = ["convert_input_quantizer"]


def convert_input_quantizer(ctx, module, args, kwargs):
    """Declare the program input ``<placeholder>``: codes of the quantizer's encoding.

    (The first stage that reads it gets an input bus of shape ``(*sample_shape,
    bits)`` for a whole-sample stage.)  On anything but the float model input
    itself (another layer's output, or the input after a normalization) the
    quantizer is an elementwise step like any activation quantizer.
    """
    x = args[0]
    if not isinstance(x, FloatInput) or x.chain:
        # after other float functions of the input ((x - mean) / std ...), the quantizer joins their
        # chain: the program input's encoding is then read off torch on every float (see inputs.py)
        return append_step(ctx, x, ChainStep(ctx.layer, type(module).__name__, module, module.codes()))
    if x.name in ctx.inputs:
        raise QuantizationError(
            f"input {x.name!r} is quantized twice (by {ctx.inputs[x.name][0]!r} and {ctx.layer!r}); "
            "use one input quantizer"
        )
    ctx.inputs[x.name] = (ctx.layer, module)
    return program_input(ctx, x, module.codes(), ctx.layer)
