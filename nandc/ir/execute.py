"""Running a :class:`~nandc.ir.program.Program`: exact data movement in numpy, kernels by callback.

:func:`execute` walks the ops in order on a block of samples.  Data movement
(gathers, pooling, reshapes, sums, concatenation, argmax) is vectorized numpy
on integer codes -- never a Python loop over samples or positions.  Kernels
are run by a :data:`KernelRunner` callback, so the same walk serves the numpy
reference evaluator (:func:`reference_runner`) and the LLVM JIT
(:func:`nandc.backends.llvm.program_runner`).

A kernel's samples are ``(sample, position)`` pairs: a window kernel over a
``32 x 32`` output runs 1,024 positions of one image through one netlist.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nandc.errors import BackendError
from nandc.ir import fixedpoint
from nandc.ir.program import (
    KERNEL_INPUT, KERNEL_VALID, Add, Argmax, Attention, Concat, Embed, Kernel, MaxPool, Program, Reshape, Rows,
    Stage, SumPool, Tensor, Whole, Window,
)

__all__ = ["KernelRunner", "execute", "reference_runner", "gather", "scatter", "block_size",
           "window_cells"]

KernelRunner = Callable[[int, Stage, Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]
"""``run(stage_index, stage, {bus: words (S, *bus.shape[:-1])}) -> {bus: words}``: one stage on S samples."""

_BLOCK_BYTES = 96 << 20  # gathered kernel inputs per block of samples (one byte per code)


def reference_runner(stage_index: int, stage: Stage, inputs: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """Run a stage with the numpy reference evaluator (netlist if compiled, else circuit)."""
    from nandc.ir.evaluate import evaluate

    return evaluate(stage.interface, dict(inputs))


# ---------------------------------------------------------------------- gathers
def window_cells(codes: np.ndarray, window: Window, fill) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N, OH, OW, C, kh, kw)``: every window's cells (a copy).

    Cells outside the image hold ``fill``.
    """
    n, c, h, w = codes.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = window.kernel, window.stride, window.padding, window.dilation
    oh, ow = window.output_size(h, w)
    padded = np.pad(codes, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill) if ph or pw else codes
    padded = np.ascontiguousarray(padded)
    s0, s1, s2, s3 = padded.strides
    view = as_strided(padded, shape=(n, oh, ow, c, kh, kw),
                      strides=(s0, sh * s2, sw * s3, s1, dh * s2, dw * s3), writeable=False)
    return np.ascontiguousarray(view)


def gather(op: Kernel, stage: Stage, src: Tensor, codes: np.ndarray) -> dict[str, np.ndarray]:
    """The stage's input words for every (sample, position) of ``codes`` ``(N, *src.shape)``."""
    obj = stage.interface
    bus = obj.input_buses[KERNEL_INPUT]
    n = codes.shape[0]
    g = op.gather
    if isinstance(g, Whole):
        return {KERNEL_INPUT: codes.reshape((n,) + bus.shape[:-1])}
    if isinstance(g, Rows):
        t, f = src.shape
        return {KERNEL_INPUT: codes.reshape(n * t, f)}
    cells = window_cells(codes, g, 0)
    _, oh, ow = cells.shape[:3]
    inputs = {KERNEL_INPUT: cells.reshape(n * oh * ow, -1)}
    if KERNEL_VALID in obj.input_buses:
        mask = g.valid_mask(src.shape[1], src.shape[2]).reshape(1, oh * ow, g.cells)
        inputs[KERNEL_VALID] = np.broadcast_to(mask, (n, oh * ow, g.cells)).reshape(n * oh * ow, g.cells)
    return inputs


def scatter(op: Kernel, src: Tensor, dst: Tensor, words: np.ndarray, n: int, signed: bool) -> np.ndarray:
    """Codes ``(N, *dst.shape)`` of one output bus's words ``(N * positions, E...)``."""
    if signed:
        words = words - dst.b.reshape(-1)[0]
    g = op.gather
    if isinstance(g, Window):
        oh, ow = g.output_size(src.shape[1], src.shape[2])
        out = words.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)
    else:
        out = words.reshape((n,) + dst.shape)
    return np.ascontiguousarray(out.reshape((n,) + dst.shape)).astype(dst.dtype, copy=False)


# ---------------------------------------------------------------------- data movement
def _window_max(codes: np.ndarray, window: Window) -> np.ndarray:
    """``(N, C, H, W)`` non-negative codes -> ``(N, C, OH, OW)`` maxima, one strided slice per cell.

    Padding cells read 0, which never exceeds a code: the maximum is over the
    real cells, as torch's max pooling takes it.
    """
    n, c, h, w = codes.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = window.kernel, window.stride, window.padding, window.dilation
    oh, ow = window.output_size(h, w)
    padded = np.pad(codes, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else codes
    top = None
    for i in range(kh):
        for j in range(kw):
            cell = padded[:, :, i * dh: i * dh + sh * (oh - 1) + 1: sh, j * dw: j * dw + sw * (ow - 1) + 1: sw]
            top = cell.copy() if top is None else np.maximum(top, cell, out=top)
    return top


def _channel_encoding(t: Tensor) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel ``(a, b)`` of a ``(C, H, W)`` tensor whose encoding depends on the channel only, else None."""
    if len(t.shape) != 3:
        return None
    a, b = t.a.reshape(t.shape), t.b.reshape(t.shape)
    if not (np.all(a == a[:, :1, :1]) and np.all(b == b[:, :1, :1])):
        return None
    return a[:, 0, 0], b[:, 0, 0]


def _max_pool(op: MaxPool, src: Tensor, dst: Tensor, codes: np.ndarray) -> np.ndarray:
    per_channel = _channel_encoding(src)
    if per_channel is not None:
        # a >= 1 (Tensor's invariant): within a channel codes increase with values, so the maximum
        # of the codes is the code of the maximum
        a, b = per_channel
        top = _window_max(codes, op.window).astype(np.int64)
        return _codes_of(dst, a[None, :, None, None] * top + b[None, :, None, None])
    values = src.values(codes)
    low = np.iinfo(np.int64).min
    cells = window_cells(values, op.window, low)
    top = cells.reshape(cells.shape[:4] + (-1,)).max(axis=-1)  # (N, OH, OW, C)
    top = top.transpose(0, 3, 1, 2)
    return _codes_of(dst, top)


def _sum_pool(op: SumPool, src: Tensor, dst: Tensor, codes: np.ndarray) -> np.ndarray:
    values = src.values(codes)
    cells = window_cells(values, op.window, 0)
    total = cells.reshape(cells.shape[:4] + (-1,)).sum(axis=-1).transpose(0, 3, 1, 2)
    return _codes_of(dst, total)


def _codes_of(dst: Tensor, values: np.ndarray) -> np.ndarray:
    """Codes of exact integers under ``dst``'s encoding (exact by construction of ``dst``)."""
    return ((values - dst.b) // dst.a).astype(dst.dtype)


def _add(op: Add, srcs: list[Tensor], dst: Tensor, codes: list[np.ndarray]) -> np.ndarray:
    total = sum(f * t.values(c) for f, t, c in zip(op.factors, srcs, codes))
    return _codes_of(dst, total)


def _concat(op: Concat, srcs: list[Tensor], dst: Tensor, codes: list[np.ndarray]) -> np.ndarray:
    values = np.concatenate([f * t.values(c) for f, t, c in zip(op.factors, srcs, codes)], axis=op.axis + 1)
    return _codes_of(dst, values)


def _argmax(src: Tensor, dst: Tensor, codes: np.ndarray) -> np.ndarray:
    return np.argmax(src.values(codes), axis=-1).astype(dst.dtype)


# ---------------------------------------------------------------------- the walk
def block_size(program: Program) -> int:
    """Samples per block so that a kernel's gathered inputs stay under ~96 MB."""
    worst = 1
    for op in program.kernels:
        src = program.tensors[op.input]
        per_position = src.size if isinstance(op.gather, Whole) else (
            src.shape[0] * op.gather.cells if isinstance(op.gather, Window) else src.shape[1])
        worst = max(worst, program.positions(op) * per_position * 2)
    return max(1, _BLOCK_BYTES // worst)


def _run_kernel(op: Kernel, program: Program, env: dict[str, np.ndarray], n: int,
                run: KernelRunner) -> None:
    stage = program.stages[op.stage]
    src = program.tensors[op.input]
    outputs = run(op.stage, stage, gather(op, stage, src, env[op.input]))
    for binding in op.outputs:
        if binding.bus not in outputs:
            raise BackendError(f"stage {stage.name!r} returned no output bus {binding.bus!r}")
        env[binding.tensor] = scatter(op, src, program.tensors[binding.tensor], np.asarray(outputs[binding.bus]),
                                      n, binding.signed)


def _run_block(program: Program, codes: np.ndarray, run: KernelRunner, keep: set[str]) -> dict[str, np.ndarray]:
    env = {program.input: codes}
    n = codes.shape[0]
    last_use = {}
    for i, op in enumerate(program.ops):
        for t in op.inputs:
            last_use[t] = i
    t_ = program.tensors
    for i, op in enumerate(program.ops):
        if isinstance(op, Kernel):
            _run_kernel(op, program, env, n, run)
        elif isinstance(op, MaxPool):
            env[op.output] = _max_pool(op, t_[op.input], t_[op.output], env[op.input])
        elif isinstance(op, SumPool):
            env[op.output] = _sum_pool(op, t_[op.input], t_[op.output], env[op.input])
        elif isinstance(op, Reshape):
            env[op.output] = env[op.input].reshape((n,) + t_[op.output].shape)
        elif isinstance(op, Add):
            env[op.output] = _add(op, [t_[x] for x in op.operands], t_[op.output], [env[x] for x in op.operands])
        elif isinstance(op, Concat):
            env[op.output] = _concat(op, [t_[x] for x in op.operands], t_[op.output],
                                     [env[x] for x in op.operands])
        elif isinstance(op, Embed):
            ids = t_[op.input].values(env[op.input])
            env[op.output] = _codes_of(t_[op.output], fixedpoint.embed(ids, op.table, op.positions))
        elif isinstance(op, Attention):
            q, k, v = (t_[x].values(env[x]) for x in op.inputs)
            out = fixedpoint.attention(q, k, v, op.heads, op.shift, op.frac_bits, op.prob_bits)
            env[op.output] = _codes_of(t_[op.output], out)
        elif isinstance(op, Argmax):
            env[op.output] = _argmax(t_[op.input], t_[op.output], env[op.input])
        else:  # pragma: no cover - Program.verify rejects unknown ops
            raise BackendError(f"unknown program op {type(op).__name__}")
        for t in op.inputs:  # free what no later op reads
            if last_use.get(t) == i and t not in keep:
                env.pop(t, None)
    return env


def execute(program: Program, codes: np.ndarray, run: KernelRunner = reference_runner,
            block: int | None = None, keep: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Run ``program`` on input codes ``(N, *input shape)``.

    Returns the exact integer value of every output role (``"logits"``,
    ``"class"``) as int64 arrays, plus the codes of every tensor named in
    ``keep`` (for tests and debugging).  Samples are processed in blocks of
    ``block`` (default :func:`block_size`) to bound memory.
    """
    src = program.tensors[program.input]
    codes = np.asarray(codes)
    if codes.ndim != len(src.shape) + 1 or tuple(codes.shape[1:]) != src.shape:
        raise BackendError(
            f"program {program.name!r}: expected input codes of shape (N, {', '.join(map(str, src.shape))}), "
            f"found {codes.shape}"
        )
    if codes.size and (codes.min() < 0 or np.any(codes > src.hi)):
        raise BackendError(f"program {program.name!r}: input codes out of range 0..{int(src.hi.max())}")
    codes = codes.astype(src.dtype, copy=False)
    n = codes.shape[0]
    block = block or block_size(program)
    wanted = set(program.outputs.values()) | set(keep)
    parts: dict[str, list[np.ndarray]] = {t: [] for t in wanted}
    for start in range(0, max(n, 1), block):
        env = _run_block(program, codes[start:start + block], run, wanted)
        for t in wanted:
            parts[t].append(env[t])
    result: dict[str, np.ndarray] = {}
    for role, t in program.outputs.items():
        tensor = program.tensors[t]
        result[role] = tensor.values(np.concatenate(parts[t]))
    for t in keep:
        result[t] = np.concatenate(parts[t])
    return result


def positions_per_sample(program: Program) -> dict[int, int]:
    """Positions each kernel op runs per sample, by op index."""
    return {i: program.positions(op) for i, op in enumerate(program.ops) if isinstance(op, Kernel)}


def gate_evaluations(program: Program) -> int:
    """NAND2 gate evaluations per sample: each kernel's gates times its positions."""
    total = 0
    for op in program.kernels:
        net = program.stages[op.stage].netlist
        if net is None:
            raise BackendError("the program is not compiled to NAND netlists yet")
        total += net.num_gates * math.prod(op.gather.positions(program.tensors[op.input].shape))
    return total
