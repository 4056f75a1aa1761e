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
from nandc.backends.llvm.packing import aligned_empty, num_vectors, unpack_outputs
from nandc.backends.llvm.transpose import pack_codes, unpack_codes
from nandc.errors import BackendError
from nandc.ir.bits import codes_to_bits
from nandc.ir.evaluate import input_bits, outputs_from_bits
from nandc.ir.netlist import FIRST_INPUT, NandNetlist
from nandc.ir.program import Stage

__all__ = ["jit_runner", "stage_input_bits", "stage_input_vectors", "stage_outputs"]


def _code_parts(netlist: NandNetlist, inputs: Mapping[str, np.ndarray]) -> list[tuple[np.ndarray, int]] | None:
    """``(codes (S, elements), width)`` per input bus when the fast layout applies, else None.

    It applies when the buses hold every input in order and each is given as
    unsigned codes of its word width (the program builds stage inputs so).
    """
    buses = list(netlist.input_buses.values())
    if set(inputs) != {b.name for b in buses}:
        return None
    expected = FIRST_INPUT
    parts = []
    for bus in buses:
        codes = np.asarray(inputs[bus.name])
        codes = codes.reshape(codes.shape[0], -1) if codes.ndim else codes
        if (bus.signed or bus.bits != tuple(range(expected, expected + bus.width)) or codes.ndim != 2
                or codes.dtype.kind not in "ub" or codes.shape[1] * bus.word_width != bus.width):
            return None
        parts.append((codes, bus.word_width))
        expected += bus.width
    if expected - FIRST_INPUT != netlist.num_inputs or len({c.shape[0] for c, _ in parts}) > 1:
        return None
    return parts


def stage_input_bits(netlist: NandNetlist, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-sample input bits ``(S, num_inputs)`` of unsigned codes per bus.

    Fast path: the buses hold every input in order, each an ``(S, elements)``
    array of codes that fit the bus's word width (the program built them so).
    Anything else goes through :func:`nandc.ir.evaluate.input_bits`.
    """
    parts = _code_parts(netlist, inputs)
    if parts is None:
        return input_bits(netlist, dict(inputs))
    bits = [codes_to_bits(codes, width) for codes, width in parts]
    return bits[0] if len(bits) == 1 else np.concatenate(bits, axis=1)


def stage_input_vectors(netlist: NandNetlist, inputs: Mapping[str, np.ndarray],
                        threads: int = 1) -> tuple[np.ndarray, int] | None:
    """The stage's inputs in the JIT's vector layout, and the sample count (None: use the bit route).

    Each code is read once and each 64-bit lane written once
    (:func:`.transpose.pack_codes`), instead of a byte per sample and bit.
    """
    parts = _code_parts(netlist, inputs)
    if parts is None or not parts:
        return None
    samples = parts[0][0].shape[0]
    vectors = aligned_empty((num_vectors(samples), netlist.num_inputs, 4))  # every row is written below
    row = 0
    for codes, width in parts:
        pack_codes(codes, width, vectors, row, threads)
        row += codes.shape[1] * width
    return vectors, samples


def stage_outputs(netlist: NandNetlist, vectors: np.ndarray, samples: int, threads: int = 1) -> dict[str, np.ndarray]:
    """Per-bus outputs of a stage from the JIT's vector layout, as :func:`outputs_from_bits` gives them."""
    out: dict[str, np.ndarray] = {}
    row = 0
    for name, bus in netlist.output_buses.items():
        if bus.shape and 1 <= bus.word_width <= 63:
            elements = bus.width // bus.word_width
            codes = unpack_codes(vectors, samples, row, elements, bus.word_width, bus.signed, threads)
            out[name] = codes.reshape((samples,) + tuple(bus.shape[:-1]))
        else:  # bits, as the generic route gives them
            bits = unpack_outputs(np.ascontiguousarray(vectors[:, row:row + bus.width]), samples)
            out[name] = bits.reshape((samples,) + tuple(bus.shape)).astype(np.uint8)
        row += bus.width
    return out


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
        workers = (os.cpu_count() or 1) if threads is None else threads
        packed = stage_input_vectors(net, inputs, workers) if net.num_inputs else None
        if packed is not None and program.num_outputs:
            vectors, samples = packed
            return stage_outputs(net, program.run_packed(vectors, threads), samples, workers)
        return outputs_from_bits(net, program.run(stage_input_bits(net, inputs), threads))

    return run
