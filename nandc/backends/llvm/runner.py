"""Running staged programs with the JIT: one compiled netlist per stage, positions as samples.

:func:`jit_runner` returns a :data:`~nandc.ir.execute.KernelRunner` for
:func:`nandc.ir.execute.execute`: each stage's netlist is compiled once (and
cached on disk, see :func:`~nandc.backends.llvm.jit.compile_netlist`), and
every call runs all ``(sample, position)`` pairs of a block through it,
split over threads.
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from nandc.backends.llvm.jit import compile_netlist
from nandc.errors import BackendError
from nandc.ir.bits import codes_to_bits
from nandc.ir.evaluate import input_bits, outputs_from_bits
from nandc.ir.netlist import FIRST_INPUT, NandNetlist
from nandc.ir.program import Stage

__all__ = ["jit_runner", "stage_input_bits"]


def stage_input_bits(netlist: NandNetlist, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-sample input bits ``(S, num_inputs)`` of unsigned codes per bus.

    Fast path: the buses hold every input in order, each an ``(S, elements)``
    array of codes that fit the bus's word width (the program built them so).
    Anything else goes through :func:`nandc.ir.evaluate.input_bits`.
    """
    buses = list(netlist.input_buses.values())
    if set(inputs) != {b.name for b in buses}:
        return input_bits(netlist, dict(inputs))
    expected = FIRST_INPUT
    parts = []
    for bus in buses:
        codes = np.asarray(inputs[bus.name])
        codes = codes.reshape(codes.shape[0], -1) if codes.ndim else codes
        if (bus.signed or bus.bits != tuple(range(expected, expected + bus.width)) or codes.ndim != 2
                or codes.dtype.kind not in "ub" or codes.shape[1] * bus.word_width != bus.width):
            return input_bits(netlist, dict(inputs))
        parts.append(codes_to_bits(codes, bus.word_width))
        expected += bus.width
    if expected - FIRST_INPUT != netlist.num_inputs:
        return input_bits(netlist, dict(inputs))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


def jit_runner(threads: int | None = None, cache_dir: str | os.PathLike | None = None,
               programs: dict | None = None):
    """A kernel runner that executes each stage's netlist with the LLVM JIT.

    ``programs`` (stage index -> loaded program) keeps every stage's machine
    code loaded between runs; pass the same dict again (a model holds one), so
    a program of many stages never goes back to the disk cache.
    """
    loaded = {} if programs is None else programs

    def run(index: int, stage: Stage, inputs: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
        net = stage.netlist
        if net is None:
            raise BackendError(f"stage {stage.name!r} is not compiled to a NAND netlist")
        program = loaded.get(index)
        if program is None or program.num_gates != net.num_gates:
            program = loaded[index] = compile_netlist(net, cache_dir)
        return outputs_from_bits(net, program.run(stage_input_bits(net, inputs), threads))

    return run
