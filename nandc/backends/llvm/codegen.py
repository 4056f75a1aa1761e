"""NandNetlist -> LLVM IR text for the bit-sliced JIT (pure Python, no llvmlite).

Every signal is a ``<4 x i64>`` vector: one pass of the code evaluates 256
samples.  The steps, each a pure function:

1. :func:`select_ops` — instruction selection back from NAND structure.  Each
   gate is re-expressed as one two-input *op* (``and``, ``andn`` = ``~x & y``,
   ``or``, ``xor``) over a cut of at most two earlier values, plus a polarity
   that is tracked symbolically.  An inverter ``NAND(x, x)`` costs nothing,
   the 3- and 4-NAND XOR shapes collapse into one ``xor``, redundant gates fold
   to a wire or a constant, and identical ops are shared.  Only ops that reach
   an output are kept.
2. :func:`map_ternary` (optional, for CPUs with AVX-512VL) — cover the ops
   with three-input functions (``vpternlogq``, any truth table of three
   inputs in one instruction): a full adder becomes two ops.
3. :func:`order_depth_first` — put the ops in depth-first order from the
   outputs, so values tend to be used soon after they are made.
4. :func:`plan_code` — cut the op list (in topological order) into chunks of
   at most ``chunk_gates`` ops, one LLVM function each, so compile time stays
   linear.  Chunks talk through memory: a value read by a later chunk is
   stored in a *slot*; slots are reused once their last reader has run.
5. :func:`chunk_spec` / :func:`chunk_code` / :func:`module_text` — the text.
   Inside a chunk at most ``registers`` values are held in SSA form; the rest
   go through memory (inputs, slots, or per-chunk *spill* vectors), evicting
   the value used farthest in the future.  LLVM thus sees short live ranges,
   and chunks are cut into basic blocks of :data:`SEGMENT_OPS` ops, which
   keeps its register allocator and schedulers linear in the chunk size.

ABI of the generated functions::

    void nandc_chunk_K(ptr in, ptr out, ptr rows, ptr spill, i64 v0, i64 n)
    void nandc_run(ptr fns, i64 nfns, ptr in, ptr out, ptr rows, ptr spill,
                   i64 v0, i64 v1, i64 block)

``in`` and ``out`` use the vector layout of :mod:`.packing` (``[vector][signal]``
of ``<4 x i64>``).  ``rows`` holds ``block`` rows of ``num_slots`` vectors;
``spill`` holds ``spill_slots`` vectors (the largest any chunk needs).  All are
32-byte aligned.  Chunk ``K`` evaluates sample vectors ``v0 .. v0 + n - 1``,
using row ``j`` for vector ``v0 + j``.  The driver walks ``v0 .. v1 - 1`` in
blocks of ``block`` vectors and calls the ``nfns`` chunk functions whose
addresses are in the table ``fns``, in order, on each block: a whole block
runs through one chunk before the next, which keeps each chunk's code hot.

The output is deterministic: the same netlist and parameters give the same text.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from nandc.errors import BackendError
from nandc.ir.netlist import NandNetlist

__all__ = [
    "CODEGEN_VERSION",
    "DEFAULT_CHUNK_GATES",
    "DEFAULT_REGISTERS",
    "SEGMENT_OPS",
    "DRIVER_NAME",
    "AND", "ANDN", "OR", "XOR", "TERN",
    "Selection",
    "CodePlan",
    "ChunkSpec",
    "CodeText",
    "select_ops",
    "map_ternary",
    "order_depth_first",
    "plan_code",
    "chunk_spec",
    "chunk_code",
    "chunk_name",
    "module_text",
    "driver_module_text",
    "plan_netlist",
    "generate",
]

CODEGEN_VERSION = 3
"""Bumped whenever the generated code or its ABI changes (part of the JIT cache key)."""

DEFAULT_CHUNK_GATES = 16384
"""Ops per chunk function: big enough to amortize calls, small enough to compile in parallel."""

DEFAULT_REGISTERS = 12
"""Values held in SSA form at once (16 vector registers on AVX2, a few kept free)."""

SEGMENT_OPS = 256
"""Ops per basic block.  LLVM's instruction schedulers are quadratic in the
size of a block; cutting chunks into blocks keeps compile time linear."""

DRIVER_NAME = "nandc_run"

AND, ANDN, OR, XOR, TERN = 0, 1, 2, 3, 4
"""Op kinds: ``ANDN(x, y) = ~x & y``; ``TERN(a, b, c)`` is the truth table ``imm``
over ``a`` (bit 0 of the index), ``b`` (bit 1) and ``c`` (bit 2)."""

_CONST, _LEAF = -2, -1
_FULL = 0xF
# Truth tables over a cut (L0, L1): bit m is the value for L0 = m & 1, L1 = m >> 1.
_PATTERN = (0xA, 0xC)
# _SELECT[tt] = (kind, i, j, polarity): the value is kind(L[i], L[j]) ^ polarity,
# L[i] ^ polarity for _LEAF, or polarity for _CONST.
_SELECT = (
    (_CONST, 0, 0, 0),  # 0000 false
    (OR, 0, 1, 1),      # 0001 ~a & ~b
    (ANDN, 1, 0, 0),    # 0010 a & ~b
    (_LEAF, 1, 1, 1),   # 0011 ~b
    (ANDN, 0, 1, 0),    # 0100 ~a & b
    (_LEAF, 0, 0, 1),   # 0101 ~a
    (XOR, 0, 1, 0),     # 0110 a ^ b
    (AND, 0, 1, 1),     # 0111 ~(a & b)
    (AND, 0, 1, 0),     # 1000 a & b
    (XOR, 0, 1, 1),     # 1001 ~(a ^ b)
    (_LEAF, 0, 0, 0),   # 1010 a
    (ANDN, 0, 1, 1),    # 1011 a | ~b
    (_LEAF, 1, 1, 0),   # 1100 b
    (ANDN, 1, 0, 1),    # 1101 ~a | b
    (OR, 0, 1, 0),      # 1110 a | b
    (_CONST, 0, 0, 1),  # 1111 true
)
_SELECT_TABLE = np.array(_SELECT, dtype=np.int64)
# Three-input truth tables: bit m is the value for leaf i = (m >> i) & 1.
_PATTERN3 = (0xAA, 0xCC, 0xF0)


# ---------------------------------------------------------------------- selection
@dataclass(frozen=True)
class Selection:
    """A netlist re-expressed as ops on ``<4 x i64>`` values.

    Value ids: ``0`` is constant false, ``1 .. num_inputs`` are the inputs
    (input signal ``s`` is value ``s - 1``), and ``first_op + i`` is op ``i``.
    Ops are in topological order and every op reaches an output.

    Op ``i`` is ``kind[i]`` applied to ``args[i, 0]`` and ``args[i, 1]`` (and
    ``args[i, 2]`` with truth table ``imm[i]`` for ``TERN``; two-input ops
    repeat their first operand there).  Operands are value ids, never the
    constant.  ``outputs`` is ``(output bits, 2)``: value id and polarity
    (1 = the output is the complement).  ``num_gates`` is the size of the
    netlist the ops came from.
    """

    num_inputs: int
    num_gates: int
    kind: np.ndarray
    args: np.ndarray
    imm: np.ndarray
    outputs: np.ndarray

    @property
    def first_op(self) -> int:
        return self.num_inputs + 1

    @property
    def num_ops(self) -> int:
        return len(self.kind)


def _reorder(sel: Selection, order: np.ndarray) -> Selection:
    """The ops listed in ``order`` (op indices, operands before users), renumbered
    in that order; the other ops are dropped (nothing kept may read them)."""
    first_op = sel.first_op
    new_id = np.arange(first_op + sel.num_ops, dtype=np.int64)
    new_id[first_op + order] = first_op + np.arange(len(order), dtype=np.int64)
    outputs = sel.outputs.copy()
    outputs[:, 0] = new_id[outputs[:, 0]]
    return Selection(sel.num_inputs, sel.num_gates, sel.kind[order], new_id[sel.args[order]],
                     sel.imm[order], outputs)


def select_ops(netlist: NandNetlist) -> Selection:
    """Two-input instruction selection for ``netlist`` (see the module docstring).

    Requires a valid netlist (gates read lower signals).  Ensures: for every
    output bit ``k``, ``value(outputs[k, 0]) ^ outputs[k, 1]`` equals that
    output of the netlist on every input, with at most one op per
    non-inverter gate and only ops that reach an output.
    """
    from nandc.backends.llvm import loops

    ni = netlist.num_inputs
    gates_a, gates_b = netlist.gate_arrays()
    kinds, args, sig_val, sig_pol = loops.select_loop(
        np.ascontiguousarray(gates_a, dtype=np.int64), np.ascontiguousarray(gates_b, dtype=np.int64), ni,
        _SELECT_TABLE)
    outs = np.asarray(netlist.output_signals(), dtype=np.int64)
    outputs = np.stack([sig_val[outs], sig_pol[outs]], axis=1) if len(outs) else np.zeros((0, 2), np.int64)
    full_args = np.concatenate([args, args[:, :1]], axis=1) if len(args) else np.zeros((0, 3), np.int64)
    sel = Selection(ni, netlist.num_gates, kinds.astype(np.int8), full_args, np.zeros(len(kinds), np.uint8),
                    outputs)
    return _prune(sel)


def _prune(sel: Selection) -> Selection:
    """Drop ops that reach no output and renumber the rest densely (order kept)."""
    from nandc.backends.llvm import loops

    live = loops.live_ops(sel.kind.astype(np.int64), sel.args, sel.first_op,
                          np.ascontiguousarray(sel.outputs[:, 0], dtype=np.int64))
    return _reorder(sel, np.flatnonzero(live))


def order_depth_first(sel: Selection) -> Selection:
    """The same ops in depth-first post-order from the outputs.

    Each op comes right after the last of its operands that it is the first
    reader of, so values tend to be used soon after they are made: on wide
    random logic this halves the values the code must keep in memory, and on
    adder trees it changes little.  Requires a pruned Selection.
    """
    from nandc.backends.llvm import loops

    order = loops.depth_first_order(sel.kind.astype(np.int64), sel.args, sel.first_op,
                                    np.ascontiguousarray(sel.outputs[:, 0], dtype=np.int64))
    return _reorder(sel, order)


# ---------------------------------------------------------------------- three-input mapping
def map_ternary(sel: Selection) -> Selection:
    """Cover the two-input ops of ``sel`` with three-input functions.

    An op's value is used ``fanout`` times by other ops plus its external
    uses (outputs, later chunks); ops with external uses are kept, with
    everything they need.  Each op picks one cut of at most three leaves among
    its operands and the unions of its operands with their own cuts: the
    smallest area flow wins (an op's area flow is ``(1 + sum over its cut) /
    fanout``), ties going to the deeper cut, whose intermediate ops can then
    die.  Kept ops are re-emitted over their cuts, as one two-input op where
    the function allows, else as ``TERN`` (:func:`.loops.cover3`).

    Requires a Selection of two-input ops (from :func:`select_ops`); ensures
    the same outputs with at most as many ops.
    """
    from nandc.backends.llvm import loops

    if np.any(sel.kind == TERN):
        raise BackendError("three-input mapping needs two-input ops, found TERN")
    first_op = sel.first_op
    external = np.bincount(sel.outputs[:, 0], minlength=first_op + sel.num_ops)[first_op:].astype(np.int64)
    kinds, args, imms, kept = loops.cover3(first_op, sel.kind.astype(np.int64), sel.args, external,
                                          _SELECT_TABLE)
    full_args = sel.args.copy()
    full_args[kept] = args
    full_kind = sel.kind.copy()
    full_kind[kept] = kinds
    full_imm = sel.imm.copy()
    full_imm[kept] = imms
    mapped = Selection(sel.num_inputs, sel.num_gates, full_kind, full_args, full_imm, sel.outputs)
    return _reorder(mapped, kept)


# ---------------------------------------------------------------------- chunking
@dataclass(frozen=True)
class CodePlan:
    """Ops split into chunk functions and the scratch slots between them.

    Chunk ``k`` computes ops ``bounds[k] .. bounds[k + 1] - 1``.  ``slot[v]`` is
    the scratch slot of value ``v`` (``-1`` if no later chunk reads it).
    ``num_chunks >= 1`` (a netlist without ops still has one chunk, which
    writes the outputs that are constants or inputs).
    """

    selection: Selection
    bounds: tuple[int, ...]
    slot: np.ndarray
    num_slots: int

    @property
    def num_chunks(self) -> int:
        return len(self.bounds) - 1

    @property
    def num_inputs(self) -> int:
        return self.selection.num_inputs

    @property
    def num_outputs(self) -> int:
        return len(self.selection.outputs)

    def gates_done(self, chunks: int) -> int:
        """The share of the netlist's NAND gates that ``chunks`` compiled chunks stand for."""
        sel = self.selection
        if chunks >= self.num_chunks:
            return sel.num_gates
        return sel.num_gates * self.bounds[chunks] // max(1, sel.num_ops)


def plan_code(selection: Selection, chunk_gates: int = DEFAULT_CHUNK_GATES) -> CodePlan:
    """Split ``selection`` into chunks of at most ``chunk_gates`` ops and assign slots.

    A value gets a slot iff a later chunk reads it; a slot is reused by values
    of chunks after the last chunk reading its previous value.  Ensures a
    deterministic plan with as few slots as this greedy interval colouring finds.
    """
    if chunk_gates < 1:
        raise BackendError(f"chunk_gates must be at least 1, found {chunk_gates}")
    n_ops = selection.num_ops
    bounds = tuple(range(0, n_ops, chunk_gates)) + (n_ops,)
    if len(bounds) == 1:
        bounds = (0, 0)
    first_op = selection.first_op
    n_values = first_op + n_ops
    chunk_of_op = np.arange(n_ops, dtype=np.int64) // chunk_gates
    def_chunk = np.full(n_values, -1, dtype=np.int64)
    def_chunk[first_op:] = chunk_of_op
    last_use = np.full(n_values, -1, dtype=np.int64)
    for column in range(3):
        np.maximum.at(last_use, selection.args[:, column], chunk_of_op)
    exported = np.flatnonzero((def_chunk >= 0) & (last_use > def_chunk))
    slot = np.full(n_values, -1, dtype=np.int64)
    free: list[int] = []
    num_slots = 0
    released_after: dict[int, list[int]] = {}
    # `exported` is sorted by value id, hence by defining chunk
    starts = np.searchsorted(def_chunk[exported], np.arange(len(bounds)), side="left").tolist()
    export_last = last_use[exported].tolist()
    for k in range(len(bounds) - 1):
        for s in released_after.pop(k - 1, ()):
            heapq.heappush(free, s)
        for idx in range(starts[k], starts[k + 1]):
            if free:
                s = heapq.heappop(free)
            else:
                s = num_slots
                num_slots += 1
            slot[exported[idx]] = s
            released_after.setdefault(export_last[idx], []).append(s)
    return CodePlan(selection, bounds, slot, num_slots)


@dataclass(frozen=True)
class ChunkSpec:
    """Everything needed to write chunk function ``index`` (small; sent to compile workers).

    ``kind``/``args``/``imm`` are the chunk's ops, whose value ids start at
    ``first_value`` (values below are inputs or come from earlier chunks).  ``slots`` maps every value the chunk reads from or
    writes to the scratch rows to its slot.  ``outputs`` lists ``(value,
    output position, polarity)`` for the outputs this chunk writes.
    """

    index: int
    num_inputs: int
    num_outputs: int
    num_slots: int
    first_value: int
    kind: np.ndarray
    args: np.ndarray
    imm: np.ndarray
    slots: dict[int, int]
    outputs: tuple[tuple[int, int, int], ...]

    @property
    def first_op(self) -> int:
        return self.num_inputs + 1

    @property
    def uses_ternary(self) -> bool:
        return bool(np.any(self.kind == TERN))


def chunk_spec(plan: CodePlan, k: int) -> ChunkSpec:
    """The self-contained description of chunk ``k`` of ``plan``."""
    sel = plan.selection
    first_op = sel.first_op
    lo, hi = plan.bounds[k], plan.bounds[k + 1]
    first_value, end_value = first_op + lo, first_op + hi
    args = sel.args[lo:hi]
    read = np.unique(args)
    read = read[(read >= first_op) & (read < first_value)]
    own = np.arange(first_value, end_value)
    own = own[plan.slot[own] >= 0]
    stored = np.concatenate([read, own])
    slots = dict(zip(stored.tolist(), plan.slot[stored].tolist()))
    last = k == plan.num_chunks - 1
    values = sel.outputs[:, 0]
    mine = ((values >= first_value) & (values < end_value)) | (last & (values < first_op))
    outputs = tuple((int(v), int(pos), int(pol)) for pos, (v, pol) in
                    zip(np.flatnonzero(mine).tolist(), sel.outputs[mine].tolist()))
    return ChunkSpec(k, sel.num_inputs, plan.num_outputs, plan.num_slots, first_value,
                     sel.kind[lo:hi], args, sel.imm[lo:hi], slots, outputs)



# ---------------------------------------------------------------------- text
_VEC = "<4 x i64>"
_ONES = "<i64 -1, i64 -1, i64 -1, i64 -1>"
_ZERO = "zeroinitializer"
_IR_OP = ("and", None, "or", "xor")
_TERNLOG = "llvm.x86.avx512.pternlog.q.256"
_TERNLOG_DECLARATION = f"declare {_VEC} @{_TERNLOG}({_VEC}, {_VEC}, {_VEC}, i32 immarg)\n"
_ATTRIBUTES = "attributes #0 = { nounwind }\n"


@dataclass(frozen=True)
class CodeText:
    """LLVM IR text and the spill vectors its chunk functions need (the largest)."""

    text: str
    spill_slots: int


def chunk_name(k: int) -> str:
    """Symbol of chunk function ``k``."""
    return f"nandc_chunk_{k}"


class _ChunkWriter:
    """Writes the body of one chunk, keeping at most ``registers`` values in SSA form.

    Values live in memory at a *home*: the input array, their slot (when a
    later chunk reads them), or a spill vector given when they are evicted
    with uses left.  Missing operands are loaded from their homes before an
    op; after it, while too many values are held, the one whose next use is
    farthest is evicted (Belady), stored first if it has no home yet.
    """

    def __init__(self, spec: ChunkSpec, registers: int):
        self.spec = spec
        self.first_op = spec.first_op
        self.registers = registers
        self.lines: list[str] = []
        self.held: dict[int, str] = {}  # value -> SSA name holding it
        self.spill: dict[int, int] = {}  # value -> spill vector
        self.free_spill: list[int] = []
        self.spill_slots = 0
        self.temps = 0
        self.block = "loop"
        self.outputs: dict[int, list[tuple[int, int]]] = {}
        for v, pos, pol in spec.outputs:
            self.outputs.setdefault(v, []).append((pos, pol))
        self.ops = list(zip(spec.kind.tolist(), spec.args.tolist(), spec.imm.tolist()))
        # remaining uses of each value inside the chunk (next use last) and the next one
        self.uses: dict[int, list[int]] = {}
        for pos in range(len(self.ops) - 1, -1, -1):
            kind, (x, y, z), _ = self.ops[pos]
            for u in (x, y, z) if kind == TERN and z not in (x, y) else (x, y):
                self.uses.setdefault(u, []).append(pos)
        self.next_use = {u: positions[-1] for u, positions in self.uses.items()}

    # -------------------------------------------------------------- memory
    def _has_home(self, v: int) -> bool:
        return v < self.first_op or v in self.spec.slots or v in self.spill

    def _address(self, v: int) -> str:
        """Emit a pointer to ``v``'s home (which must exist); returns its name."""
        if v < self.first_op:
            base, index = "%ib", v - 1
        elif v in self.spec.slots:
            base, index = "%bb", self.spec.slots[v]
        else:
            base, index = "%sp", self.spill[v]
        self.temps += 1
        self.lines.append(f"  %p{self.temps} = getelementptr inbounds {_VEC}, ptr {base}, i64 {index}\n")
        return f"%p{self.temps}"

    def _load(self, v: int) -> str:
        address = self._address(v)
        self.temps += 1
        self.lines.append(f"  %t{self.temps} = load {_VEC}, ptr {address}, align 32\n")
        return f"%t{self.temps}"

    def _store(self, value: str, address: str) -> None:
        self.lines.append(f"  store {_VEC} {value}, ptr {address}, align 32\n")

    def _fetch(self, v: int) -> str:
        name = self.held.get(v)
        if name is None:
            name = self.held[v] = self._load(v)
        return name

    def _used(self, v: int) -> None:
        """One use of ``v`` is done; forget it when no uses are left."""
        positions = self.uses[v]
        positions.pop()
        if positions:
            self.next_use[v] = positions[-1]
            return
        self.held.pop(v, None)
        s = self.spill.pop(v, None)
        if s is not None:
            heapq.heappush(self.free_spill, s)

    def _evict(self) -> None:
        while len(self.held) > self.registers:
            victim = max(self.held, key=self.next_use.__getitem__)
            name = self.held.pop(victim)
            if not self._has_home(victim):
                if self.free_spill:
                    s = heapq.heappop(self.free_spill)
                else:
                    s = self.spill_slots
                    self.spill_slots += 1
                self.spill[victim] = s
                self._store(name, self._address(victim))

    def _store_outputs(self, v: int, value: str) -> None:
        for pos, pol in self.outputs.get(v, ()):
            if pol:
                self.temps += 1
                self.lines.append(f"  %t{self.temps} = xor {_VEC} {value}, {_ONES}\n")
                value_out = f"%t{self.temps}"
            else:
                value_out = value
            self.temps += 1
            self.lines.append(f"  %p{self.temps} = getelementptr inbounds {_VEC}, ptr %ob, i64 {pos}\n")
            self._store(value_out, f"%p{self.temps}")

    def _new_block(self) -> None:
        """End the basic block (``%go`` is true inside the loop, but LLVM's
        code generator does not know it, so it keeps the blocks apart)."""
        self.temps += 1
        label = f"b{self.temps}"
        self.lines.append(f"  br i1 %go, label %{label}, label %exit\n{label}:\n")
        self.block = label

    # -------------------------------------------------------------- body
    def write(self) -> None:
        emit = self.lines.append
        for pos, (kind, (x, y, z), imm) in enumerate(self.ops):
            v = self.spec.first_value + pos
            if pos and pos % SEGMENT_OPS == 0:
                self._new_block()
            a, b = self._fetch(x), self._fetch(y)
            if kind == TERN:
                c = self._fetch(z)
                emit(f"  %v{v} = call {_VEC} @{_TERNLOG}({_VEC} {c}, {_VEC} {b}, {_VEC} {a}, i32 {imm})\n")
                operands = (x, y, z) if z not in (x, y) else (x, y)
            elif kind == ANDN:
                emit(f"  %n{v} = xor {_VEC} {a}, {_ONES}\n  %v{v} = and {_VEC} %n{v}, {b}\n")
                operands = (x, y)
            else:
                emit(f"  %v{v} = {_IR_OP[kind]} {_VEC} {a}, {b}\n")
                operands = (x, y)
            for u in operands:
                self._used(u)
            name = f"%v{v}"
            if v in self.spec.slots:
                self._store(name, self._address(v))
            if v in self.outputs:
                self._store_outputs(v, name)
            if v in self.uses:
                self.held[v] = name
            self._evict()
        for v in sorted(u for u in self.outputs if u < self.first_op):
            self._store_outputs(v, self._load(v) if v else _ZERO)


def chunk_code(spec: ChunkSpec, registers: int = DEFAULT_REGISTERS) -> CodeText:
    """The chunk function of ``spec`` (see the module docstring for its ABI).

    ``registers`` bounds the values held in SSA form at any point (pick about
    the target's vector register count minus a few).
    """
    if registers < 3:
        raise BackendError(f"registers must be at least 3, found {registers}")
    writer = _ChunkWriter(spec, registers)
    writer.write()
    text = (
        f"define void @{chunk_name(spec.index)}(ptr noalias %in, ptr noalias %out, ptr noalias %rows, "
        f"ptr noalias %sp, i64 %v0, i64 %n) #0 {{\n"
        "entry:\n  %go = icmp ne i64 %n, 0\n  br i1 %go, label %loop, label %exit\nloop:\n"
        f"  %j = phi i64 [ 0, %entry ], [ %j.next, %{writer.block} ]\n"
        "  %v = add i64 %v0, %j\n"
        f"  %ib = getelementptr inbounds [{spec.num_inputs} x {_VEC}], ptr %in, i64 %v\n"
        f"  %ob = getelementptr inbounds [{spec.num_outputs} x {_VEC}], ptr %out, i64 %v\n"
        f"  %bb = getelementptr inbounds [{spec.num_slots} x {_VEC}], ptr %rows, i64 %j\n"
        + "".join(writer.lines)
        + "  %j.next = add nuw i64 %j, 1\n"
        "  %more = icmp ult i64 %j.next, %n\n"
        "  br i1 %more, label %loop, label %exit\n"
        "exit:\n  ret void\n}\n"
    )
    return CodeText(text, writer.spill_slots)


def _driver_text() -> str:
    return """\
define void @nandc_run(ptr %fns, i64 %nfns, ptr %in, ptr %out, ptr %rows, ptr %spill, i64 %v0, i64 %v1, i64 %block) #0 {
entry:
  %empty = icmp sge i64 %v0, %v1
  br i1 %empty, label %done, label %block_head
block_head:
  %b = phi i64 [ %v0, %entry ], [ %b.next, %block_tail ]
  %rest = sub i64 %v1, %b
  %short = icmp slt i64 %rest, %block
  %n = select i1 %short, i64 %rest, i64 %block
  br label %call
call:
  %k = phi i64 [ 0, %block_head ], [ %k.next, %call ]
  %slot = getelementptr inbounds ptr, ptr %fns, i64 %k
  %fn = load ptr, ptr %slot, align 8
  call void %fn(ptr %in, ptr %out, ptr %rows, ptr %spill, i64 %b, i64 %n)
  %k.next = add nuw i64 %k, 1
  %more = icmp ult i64 %k.next, %nfns
  br i1 %more, label %call, label %block_tail
block_tail:
  %b.next = add nuw i64 %b, %n
  %left = icmp slt i64 %b.next, %v1
  br i1 %left, label %block_head, label %done
done:
  ret void
}
"""


def _module_id(name: str) -> str:
    return f"; ModuleID = '{re.sub(r'[^A-Za-z0-9_.$-]', '_', name)}'\n"


def module_text(specs: Sequence[ChunkSpec], registers: int = DEFAULT_REGISTERS,
                with_driver: bool = False, name: str = "nandc") -> CodeText:
    """One module holding the chunk functions of ``specs`` (and the driver if asked)."""
    codes = [chunk_code(spec, registers) for spec in specs]
    spill = max((c.spill_slots for c in codes), default=0)
    parts = [_module_id(name), f"; nandc codegen v{CODEGEN_VERSION}\n"]
    if any(spec.uses_ternary for spec in specs):
        parts.append(_TERNLOG_DECLARATION)
    if with_driver:
        parts.append(_driver_text())
    parts.extend(c.text for c in codes)
    parts.append(_ATTRIBUTES)
    return CodeText("".join(parts), spill)


def driver_module_text() -> str:
    """A module holding only the driver (it does not depend on the netlist)."""
    return _module_id("nandc_driver") + _driver_text() + _ATTRIBUTES


def plan_netlist(netlist: NandNetlist, chunk_gates: int = DEFAULT_CHUNK_GATES,
                 ternary: bool = False) -> CodePlan:
    """Selection (three-input mapping if ``ternary``), depth-first order and chunk plan."""
    selection = select_ops(netlist)
    if ternary:
        selection = map_ternary(selection)
    return plan_code(order_depth_first(selection), chunk_gates)


def generate(netlist: NandNetlist, chunk_gates: int = DEFAULT_CHUNK_GATES,
             registers: int = DEFAULT_REGISTERS, ternary: bool = False) -> str:
    """The whole program for ``netlist`` as one LLVM IR module: driver plus every chunk.

    Deterministic.  ``chunk_gates`` bounds the ops per chunk function, ``registers`` the values held in SSA form, and ``ternary``
    allows AVX-512VL ``vpternlogq`` (only for CPUs that have it).  A comment
    states the scratch sizes the driver needs: ``slots`` vectors per block row
    and ``spill`` vectors.  (:mod:`.jit` compiles chunks as separate modules.)
    """
    plan = plan_netlist(netlist, chunk_gates, ternary)
    code = module_text([chunk_spec(plan, k) for k in range(plan.num_chunks)], registers,
                       with_driver=True, name=netlist.name)
    sizes = (f"; {plan.num_inputs} inputs, {plan.num_outputs} outputs, {plan.num_chunks} chunks, "
             f"{plan.num_slots} slots, {code.spill_slots} spill\n")
    return sizes + code.text
