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

from nandc.backends.llvm.codegen import AND, ANDN, OR, TERN, XOR, ChunkSpec, chunk_name
from nandc.errors import BackendError

__all__ = ["ASM_REGISTERS", "chunk_asm", "module_asm_text"]

ASM_REGISTERS = 14
"""Values held in ``ymm`` registers (``ymm14`` and ``ymm15`` are reserved)."""

_SCRATCH = 14
_ONES = 15
_MNEMONIC = {AND: "vpand", OR: "vpor", XOR: "vpxor", ANDN: "vpandn"}
_VECTOR = 32  # bytes per <4 x i64>


def _next_uses(kinds: list[int], args: list[list[int]], first_value: int):
    """Per op: its operand uses (as :mod:`.codegen` counts them), for each the op of the value's
    next use after this one, and the op of the first use of the op's own value (``_NEVER`` if none)."""
    operands: list[tuple[int, ...]] = [()] * len(kinds)
    nexts: list[tuple[int, ...]] = [()] * len(kinds)
    firsts = [_NEVER] * len(kinds)
    seen: dict[int, int] = {}
    get = seen.get
    for i in range(len(kinds) - 1, -1, -1):
        firsts[i] = get(first_value + i, _NEVER)
        x, y, z = args[i]
        ops = (x, y, z) if kinds[i] == TERN and z != x and z != y else (x, y)
        operands[i] = ops
        if len(ops) == 2:
            if x == y:
                nexts[i] = (i, get(x, _NEVER))  # the first read of x, then the second
            else:
                nexts[i] = (get(x, _NEVER), get(y, _NEVER))
        else:
            nexts[i] = tuple(get(u, _NEVER) for u in ops)
        for u in ops:
            seen[u] = i
    return operands, nexts, firsts


_NEVER = 1 << 62


class _AsmWriter:
    """Emits one chunk as AT&T assembly (see the module docstring).

    Values live in ``ymm`` registers or at a *home* in memory: the input
    array, their slot (when a later chunk reads them) or a spill vector
    given when they are evicted with uses left.  A missing first operand is
    loaded; a missing second operand is read from memory by the op itself.
    When no register is free, the held value whose next use is farthest is
    evicted (Belady), stored first if it has no home yet.
    """

    def __init__(self, spec: ChunkSpec, registers: int):
        self.spec = spec
        self.first_op = spec.first_op
        self.registers = min(registers, ASM_REGISTERS)
        self.lines: list[str] = []
        self.reg: dict[int, int] = {}  # value -> ymm register
        self.next_use: dict[int, int] = {}  # held or spilled value -> op of its next use
        self.free = list(range(self.registers - 1, -1, -1))
        self.spill: dict[int, int] = {}  # value -> spill vector
        self.free_spill: list[int] = []
        self.spill_slots = 0
        self.slots = spec.slots
        self.outputs: dict[int, list[tuple[int, int]]] = {}
        for v, pos, pol in spec.outputs:
            self.outputs.setdefault(v, []).append((pos, pol))

    def _memory(self, v: int) -> str:
        """The memory operand of ``v``'s home (which must exist)."""
        if v < self.first_op:
            return f"{(v - 1) * _VECTOR}(%rax)"
        s = self.slots.get(v)
        if s is not None:
            return f"{s * _VECTOR}(%r11)"
        return f"{self.spill[v] * _VECTOR}(%rcx)"

    def _claim(self, pinned: tuple[int, ...] = ()) -> int:
        """A free register, evicting the held value used farthest in the future if needed."""
        if self.free:
            return self.free.pop()
        nu = self.next_use
        victim = max((u for u in self.reg if u not in pinned), key=nu.__getitem__)
        r = self.reg.pop(victim)
        if victim >= self.first_op and victim not in self.slots and victim not in self.spill:
            s = heapq.heappop(self.free_spill) if self.free_spill else self.spill_slots
            if s == self.spill_slots:
                self.spill_slots += 1
            self.spill[victim] = s
            self.lines.append(f"vmovdqa %ymm{r}, {s * _VECTOR}(%rcx)\n")
        return r

    def _store_output(self, v: int, source: str) -> None:
        """Store value ``v`` (in register ``source``) to every output it drives: the plain
        ones first, then its complement, made once (``source`` may be the scratch register)."""
        outs = self.outputs[v]
        emit = self.lines.append
        for pos, pol in outs:
            if not pol:
                emit(f"vmovdqa {source}, {pos * _VECTOR}(%r10)\n")
        negated = [pos for pos, pol in outs if pol]
        if negated:
            emit(f"vpxor %ymm{_ONES}, {source}, %ymm{_SCRATCH}\n")
            for pos in negated:
                emit(f"vmovdqa %ymm{_SCRATCH}, {pos * _VECTOR}(%r10)\n")

    def write(self) -> None:
        spec = self.spec
        kinds, args, imms = spec.kind.tolist(), spec.args.tolist(), spec.imm.tolist()
        first_value = spec.first_value
        operands, nexts, firsts = _next_uses(kinds, args, first_value)
        emit = self.lines.append
        reg, nu, free, spill = self.reg, self.next_use, self.free, self.spill
        outputs, slots = self.outputs, self.slots
        released: list[int] = []  # spill vectors of dead operands: reusable once the op is written

        def fetch(v: int, pinned: tuple[int, ...] = ()) -> int:
            r = reg.get(v)
            if r is None:
                r = self._claim(pinned)
                reg[v] = r
                emit(f"vmovdqa {self._memory(v)}, %ymm{r}\n")
            return r

        def operand(v: int) -> str:
            r = reg.get(v)
            return f"%ymm{r}" if r is not None else self._memory(v)

        def used(v: int, later: int) -> None:
            if later != _NEVER:
                nu[v] = later
                return
            r = reg.pop(v, None)
            if r is not None:
                free.append(r)
            s = spill.pop(v, None)
            if s is not None:
                released.append(s)

        for i, kind in enumerate(kinds):
            x, y, z = args[i]
            later = nexts[i]
            if kind == TERN:
                # vpternlogq overwrites its first source, which holds z (bit 2 of the table index)
                nu[x] = nu[y] = i
                rb = fetch(y, (x, y))
                src_c, src_a = operand(z), operand(x)
                ops = operands[i]
                if len(ops) == 3:
                    used(z, later[2])  # a dead z may lend its register: no copy then
                r = self._claim((x, y))  # never x's or y's register: they are pinned and still held
                used(x, later[0])
                used(y, later[1])
                if src_c != f"%ymm{r}":
                    emit(f"vmovdqa {src_c}, %ymm{r}\n")
                emit(f"vpternlogq ${imms[i]}, {src_a}, %ymm{rb}, %ymm{r}\n")
            else:
                first, second = later
                if kind != ANDN and x not in reg and y in reg:
                    x, y = y, x  # commutative: the held value is the register source
                    first, second = second, first
                nu[x] = nu[y] = i
                rx = fetch(x)
                src = operand(y)
                used(x, first)
                used(y, second)
                r = self._claim()  # an evicted operand's register still holds it when the op reads it
                emit(f"{_MNEMONIC[kind]} {src}, %ymm{rx}, %ymm{r}\n")
            if released:
                for s in released:
                    heapq.heappush(self.free_spill, s)
                released.clear()
            v = first_value + i
            s = slots.get(v)
            if s is not None:
                emit(f"vmovdqa %ymm{r}, {s * _VECTOR}(%r11)\n")
            if v in outputs:
                self._store_output(v, f"%ymm{r}")
            if firsts[i] == _NEVER:
                free.append(r)
            else:
                reg[v] = r
                nu[v] = firsts[i]
        for v in sorted(u for u in outputs if u < self.first_op):
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
