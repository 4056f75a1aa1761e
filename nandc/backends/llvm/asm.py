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

import heapq

from nandc.backends.llvm.codegen import AND, ANDN, OR, TERN, XOR, ChunkSpec, _ChunkWriter, chunk_name
from nandc.errors import BackendError

__all__ = ["ASM_REGISTERS", "chunk_asm", "module_asm_text"]

ASM_REGISTERS = 14
"""Values held in ``ymm`` registers (``ymm14`` and ``ymm15`` are reserved)."""

_SCRATCH = 14
_ONES = 15
_MNEMONIC = {AND: "vpand", OR: "vpor", XOR: "vpxor", ANDN: "vpandn"}
_VECTOR = 32  # bytes per <4 x i64>


class _AsmWriter(_ChunkWriter):
    """Emits one chunk as AT&T assembly (see the module docstring)."""

    def __init__(self, spec: ChunkSpec, registers: int):
        super().__init__(spec, min(registers, ASM_REGISTERS))
        self.reg: dict[int, int] = {}  # value -> ymm register
        self.free = list(range(self.registers))
        self.pinned: tuple[int, ...] = ()  # values claim() must not evict
        self.released_spill: list[int] = []  # spill vectors of dead operands, reusable after the op

    # -------------------------------------------------------------- memory
    def _memory(self, v: int) -> str:
        """The memory operand of ``v``'s home (which must exist)."""
        if v < self.first_op:
            return f"{(v - 1) * _VECTOR}(%rax)"
        if v in self.spec.slots:
            return f"{self.spec.slots[v] * _VECTOR}(%r11)"
        return f"{self.spill[v] * _VECTOR}(%rcx)"

    def _claim(self) -> int:
        """A free register, evicting the held value used farthest in the future if needed."""
        if self.free:
            return heapq.heappop(self.free)
        victim = max((u for u in self.reg if u not in self.pinned), key=self.next_use.__getitem__)
        r = self.reg.pop(victim)
        if not self._has_home(victim):
            if self.free_spill:
                s = heapq.heappop(self.free_spill)
            else:
                s = self.spill_slots
                self.spill_slots += 1
            self.spill[victim] = s
            self.lines.append(f"vmovdqa %ymm{r}, {self._memory(victim)}\n")
        return r

    def _in_register(self, v: int) -> int:
        r = self.reg.get(v)
        if r is None:
            r = self._claim()
            self.reg[v] = r
            self.lines.append(f"vmovdqa {self._memory(v)}, %ymm{r}\n")
        return r

    def _operand(self, v: int) -> str:
        r = self.reg.get(v)
        return f"%ymm{r}" if r is not None else self._memory(v)

    def _used(self, v: int) -> None:
        """One use of ``v`` is done.  A dead value's register is free at once (the op
        still reads it before writing its result); its spill vector only after the op."""
        positions = self.uses[v]
        positions.pop()
        if positions:
            self.next_use[v] = positions[-1]
            return
        r = self.reg.pop(v, None)
        if r is not None:
            heapq.heappush(self.free, r)
        s = self.spill.pop(v, None)
        if s is not None:
            self.released_spill.append(s)

    def _end_op(self) -> None:
        for s in self.released_spill:
            heapq.heappush(self.free_spill, s)
        self.released_spill.clear()

    def _store_output(self, v: int, source: str) -> None:
        """Store value ``v`` (in register ``source``) to every output it drives: the plain
        ones first, then its complement, made once (``source`` may be the scratch register)."""
        outs = self.outputs.get(v, ())
        for pos, pol in outs:
            if not pol:
                self.lines.append(f"vmovdqa {source}, {pos * _VECTOR}(%r10)\n")
        negated = [pos for pos, pol in outs if pol]
        if negated:
            self.lines.append(f"vpxor %ymm{_ONES}, {source}, %ymm{_SCRATCH}\n")
            for pos in negated:
                self.lines.append(f"vmovdqa %ymm{_SCRATCH}, {pos * _VECTOR}(%r10)\n")

    # -------------------------------------------------------------- ops
    def _binary(self, kind: int, x: int, y: int) -> int:
        if kind != ANDN and x not in self.reg and y in self.reg:
            x, y = y, x  # commutative: the held value is the register source
        rx = self._in_register(x)
        second = self._operand(y)
        self._used(x)
        self._used(y)
        r = self._claim()  # an evicted operand's register still holds it when the op reads it
        self.lines.append(f"{_MNEMONIC[kind]} {second}, %ymm{rx}, %ymm{r}\n")
        return r

    def _ternary(self, x: int, y: int, z: int, imm: int) -> int:
        """``vpternlogq`` overwrites its first source, which holds ``z`` (bit 2 of the table index)."""
        self.pinned = (x, y)
        rb = self._in_register(y)
        src_c, src_a = self._operand(z), self._operand(x)
        if z not in (x, y):
            self._used(z)  # a dead z may lend its register as the result's: no copy then
        r = self._claim()  # never x's or y's register: they are pinned and still held
        self.pinned = ()
        self._used(x)
        self._used(y)
        if src_c != f"%ymm{r}":
            self.lines.append(f"vmovdqa {src_c}, %ymm{r}\n")
        self.lines.append(f"vpternlogq ${imm}, {src_a}, %ymm{rb}, %ymm{r}\n")
        return r

    # -------------------------------------------------------------- body
    def write(self) -> None:
        emit = self.lines.append
        for pos, (kind, (x, y, z), imm) in enumerate(self.ops):
            v = self.spec.first_value + pos
            r = self._ternary(x, y, z, imm) if kind == TERN else self._binary(kind, x, y)
            self._end_op()
            if v in self.spec.slots:
                emit(f"vmovdqa %ymm{r}, {self.spec.slots[v] * _VECTOR}(%r11)\n")
            if v in self.outputs:
                self._store_output(v, f"%ymm{r}")
            if v in self.uses:
                self.reg[v] = r
            else:
                heapq.heappush(self.free, r)
        for v in sorted(u for u in self.outputs if u < self.first_op):
            if v:
                emit(f"vmovdqa {(v - 1) * _VECTOR}(%rax), %ymm{_SCRATCH}\n")
            else:
                emit(f"vpxor %ymm{_SCRATCH}, %ymm{_SCRATCH}, %ymm{_SCRATCH}\n")
            self._store_output(v, f"%ymm{_SCRATCH}")


def chunk_asm(spec: ChunkSpec, registers: int = ASM_REGISTERS) -> tuple[str, int]:
    """``(assembly, spill vectors)`` of chunk function ``spec.index`` (same ABI as :func:`~.codegen.chunk_code`)."""
    if registers < 3:
        raise BackendError(f"registers must be at least 3, found {registers}")
    writer = _AsmWriter(spec, registers)
    writer.write()
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
    return head + "".join(writer.lines) + tail, writer.spill_slots


def module_asm_text(spec: ChunkSpec, registers: int = ASM_REGISTERS) -> tuple[str, int]:
    """An LLVM IR module holding only the chunk's assembly; ``(text, spill vectors)``."""
    body, spill = chunk_asm(spec, registers)
    lines = "".join(f'module asm "{line}"\n' for line in body.splitlines())
    return f"; ModuleID = '{chunk_name(spec.index)}'\n" + lines, spill
