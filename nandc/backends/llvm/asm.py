"""Chunk functions as x86-64 AVX2 assembly: the fast compile path of the JIT.

LLVM's code generator (instruction selection, scheduling, register
allocation) costs far more than it wins on straight-line bit-slice code
whose ops :mod:`.codegen` has already selected and ordered.  On x86-64 hosts
with AVX2 the JIT therefore writes each chunk function directly as assembly
(``module asm`` in an otherwise empty LLVM module), which LLVM only has to
assemble.  The plan, the ABI and the register policy are those of
:mod:`.codegen`: the same :class:`~.codegen.ChunkSpec`, the same homes
(inputs, slots, spill vectors), at most ``registers`` values held in
``ymm`` registers with Belady eviction; only the emission differs.

Register use: ``ymm0 .. ymm13`` hold values, ``ymm14`` is scratch and
``ymm15`` all ones.  The second source of an op reads memory directly when
its value is not held.  Pointers: ``rax`` the block's input vectors, ``r10``
its output vectors, ``r11`` its row of slots, ``rcx`` the spill vectors,
``r9`` the vectors left.
"""

from __future__ import annotations

import numpy as np

from nandc.backends.llvm.codegen import AND, ANDN, OR, XOR, ChunkSpec, chunk_name
from nandc.errors import BackendError

__all__ = ["ASM_REGISTERS", "chunk_asm", "module_asm_text"]

ASM_REGISTERS = 14
"""Values held in ``ymm`` registers (``ymm14`` and ``ymm15`` are reserved)."""

_SCRATCH = 14
_ONES = 15
_MNEMONIC = {AND: "vpand", OR: "vpor", XOR: "vpxor", ANDN: "vpandn"}
_VECTOR = 32  # bytes per <4 x i64>


_BASES = ("%rax", "%r11", "%rcx", "%r10")


def _operand(base: int, index: int) -> str:
    return f"%ymm{index}" if base < 0 else f"{index * _VECTOR}({_BASES[base]})"


def _format(records: np.ndarray) -> list[str]:
    """AT&T lines of :func:`.loops.allocate`'s instruction records."""
    from nandc.backends.llvm import loops

    memory: dict[tuple[int, int], str] = {}

    def operand(base: int, index: int) -> str:
        text = memory.get((base, index))
        if text is None:
            text = memory[base, index] = _operand(base, index)
        return text

    ymm = [f"%ymm{r}" for r in range(16)]
    lines = []
    emit = lines.append
    load, store, op, ternlog, copy, negate = (loops.LOAD, loops.STORE, loops.OP, loops.TERNLOG, loops.COPY,
                                              loops.NOT)
    for code, a, b, c, d, e in records.tolist():
        if code == op:
            emit(f"{_MNEMONIC[e]} {operand(b, c)}, {ymm[d]}, {ymm[a]}")
        elif code == load:
            emit(f"vmovdqa {operand(b, c)}, {ymm[a]}")
        elif code == store:
            emit(f"vmovdqa {ymm[a]}, {operand(b, c)}")
        elif code == ternlog:
            emit(f"vpternlogq ${e}, {operand(b, c)}, {ymm[d]}, {ymm[a]}")
        elif code == copy:
            emit(f"vmovdqa {operand(b, c)}, {ymm[a]}")
        elif code == negate:
            emit(f"vpxor {ymm[_ONES]}, {ymm[a]}, {ymm[_SCRATCH]}")
        else:
            emit(f"vpxor {ymm[a]}, {ymm[a]}, {ymm[a]}")
    return lines


def _body(spec: ChunkSpec, registers: int) -> tuple[list[str], int]:
    """The chunk's loop body and its spill vectors (see :func:`.loops.allocate`)."""
    from nandc.backends.llvm import loops

    first_op = spec.first_op
    n_values = spec.first_value + len(spec.kind) - first_op
    slot_of = np.full(max(n_values, 0), -1, np.int64)
    for v, s in spec.slots.items():
        slot_of[v - first_op] = s
    outs = np.array(sorted(spec.outputs), dtype=np.int64).reshape(-1, 3)
    records, spill = loops.allocate(
        np.ascontiguousarray(spec.kind, dtype=np.int64), np.ascontiguousarray(spec.args, dtype=np.int64),
        np.ascontiguousarray(spec.imm, dtype=np.int64), spec.first_value, first_op, slot_of,
        np.ascontiguousarray(outs[:, 0]), np.ascontiguousarray(outs[:, 1]), np.ascontiguousarray(outs[:, 2]),
        min(registers, ASM_REGISTERS))
    return _format(records), int(spill)


def chunk_asm(spec: ChunkSpec, registers: int = ASM_REGISTERS) -> tuple[str, int]:
    """``(assembly, spill vectors)`` of chunk function ``spec.index`` (same ABI as :func:`~.codegen.chunk_code`)."""
    if registers < 3:
        raise BackendError(f"registers must be at least 3, found {registers}")
    body, spill = _body(spec, registers)
    name = chunk_name(spec.index)
    ni, no, ns = spec.num_inputs * _VECTOR, spec.num_outputs * _VECTOR, spec.num_slots * _VECTOR
    head = (
        f".text\n.globl {name}\n.type {name},@function\n.p2align 5\n{name}:\n"
        f"test %r9, %r9\njz .L{name}_exit\n"
        f"imul ${ni}, %r8, %rax\nadd %rdi, %rax\n"
        f"imul ${no}, %r8, %r10\nadd %rsi, %r10\n"
        "mov %rdx, %r11\n"
        f"vpcmpeqd %ymm{_ONES}, %ymm{_ONES}, %ymm{_ONES}\n"
        f".p2align 4\n.L{name}_loop:\n"
    )
    tail = (
        f"add ${ni}, %rax\nadd ${no}, %r10\nadd ${ns}, %r11\n"
        f"dec %r9\njnz .L{name}_loop\n"
        f".L{name}_exit:\nvzeroupper\nret\n.size {name}, .-{name}\n"
    )
    return head + "\n".join(body) + "\n" + tail, spill


def module_asm_text(spec: ChunkSpec, registers: int = ASM_REGISTERS) -> tuple[str, int]:
    """An LLVM IR module holding only the chunk's assembly; ``(text, spill vectors)``."""
    body, spill = chunk_asm(spec, registers)
    # one module-level asm string; "\0A" is a newline in an LLVM IR string (the text has no quotes)
    escaped = body.replace("\n", "\\0A")
    return f"; ModuleID = '{chunk_name(spec.index)}'\nmodule asm \"{escaped}\"\n", spill
