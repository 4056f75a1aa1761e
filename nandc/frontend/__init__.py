"""Frontend: a trained PyTorch model -> a staged Program (or one flat circuit) with exact integer semantics.

:func:`build_program` traces the model with torch.fx and converts every node
with its registered converter (see :mod:`nandc.frontend.converters`) into a
:class:`~nandc.ir.program.Program`.  Flat (``staged=False``): one
whole-sample stage unrolled over every position, as :func:`build_circuit`
returns it.  Staged: each convolution becomes a kernel built for one output
position, run over every position (see :mod:`nandc.frontend.staging`).

The output head holds the integer logits (bus or tensor ``logits``) and, for
a vector output, the index of the first maximal logit (``class``), the same
tie rule as ``torch.argmax``.  Importing this package imports torch.
"""

from __future__ import annotations

import numpy as np

from nandc.errors import NandcError, QuantizationError
from nandc.frontend import converters  # noqa: F401  (registers every converter)
from nandc.frontend.convert import convert_graph
from nandc.frontend.reference import integer_forward
from nandc.frontend.staging import ProgramBuilder
from nandc.frontend.tracer import trace
from nandc.ir.circuit import Circuit
from nandc.interface import ARGMAX_LAYER, HEAD_LAYER, Interface
from nandc.ir.program import Program

__all__ = ["build_program", "build_circuit", "Interface", "HEAD_LAYER", "ARGMAX_LAYER"]


def build_program(model, example_input, name: str | None = None, staged: bool = False) -> tuple[Program, Interface]:
    """Trace ``model`` and build its exact Program; ``example_input`` gives the input shape.

    ``staged=False`` gives a program of one whole-sample stage (the flat
    circuit); ``staged=True`` compiles each convolution once for one output
    position.  The model is converted in eval mode (its training flag is restored).
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
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        gm = trace(model)
        builder = ProgramBuilder(name or type(model).__name__)
        inputs, (kind, step, deq, shape) = convert_graph(gm, tuple(example_input.shape[1:]), builder, staged)
        program = builder.program()
    finally:
        for m, mode in modes.items():
            m.training = mode
    (input_name, (layer, quantizer)), = inputs.items()
    iface = Interface(
        input_name=input_name,
        input_shape=tuple(int(d) for d in example_input.shape[1:]),
        input_encoding=quantizer.encoding(),
        output_shape=tuple(shape),
        output_kind=kind,
        output_step=float(step),
        has_class="class" in program.outputs,
        dequantize=deq,
        output_values=tuple(float(v) for v in builder.output_values) if builder.output_values is not None else (),
        output_function=builder.output_function,
        reference=integer_forward(gm, dict(builder.records)),
    )
    return program, iface


def build_circuit(model, example_input, name: str | None = None) -> tuple[Circuit, Interface]:
    """Trace ``model`` and build its exact flat Circuit (buses ``x``, ``logits``, ``class``)."""
    program, iface = build_program(model, example_input, name, staged=False)
    circuit = program.stages[0].circuit
    circuit.name = program.name
    return circuit, iface
