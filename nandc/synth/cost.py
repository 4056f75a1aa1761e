"""The NAND2 cost of an AIG: what :func:`~nandc.passes.nand.lower_to_nand` will produce.

The one phase-aware cost view every pass prices its decisions with.  The
convention it rests on (which phase of a node is free) is
:meth:`Circuit.free_phase <nandc.ir.circuit.Circuit.free_phase>`.

Lowering turns every live AND node into one NAND2 gate, which carries the
node's *complement*; a literal needed in its other phase costs one inverter,
shared by all its readers.  So the NAND2 count of a circuit is::

    live AND nodes
    + AND nodes whose positive literal is read (by an AND node or an output)
    + inputs whose complemented literal is read

This is the objective of every optimization pass (AND count alone would
reward structures that need more inverters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nandc.ir.circuit import Circuit

if TYPE_CHECKING:
    from nandc.synth.library import Program

__all__ = ["PhaseUse", "phase_use", "nand_cost", "CostView", "cut_cost_tables", "cut_cost_arrays", "INFINITE"]


@dataclass(frozen=True)
class PhaseUse:
    """How often each node is read in each phase by live AND nodes and outputs.

    ``pos[n]`` counts reads of literal ``2n``, ``neg[n]`` of ``2n + 1``
    (int64 arrays); ``live`` marks nodes reachable from the outputs.
    """

    live: np.ndarray
    pos: np.ndarray
    neg: np.ndarray


def phase_use(circuit: Circuit) -> PhaseUse:
    """Read counts per node and phase (see :class:`PhaseUse`)."""
    f0, f1, _ = circuit.arrays()
    live = circuit.reachable()
    ands = np.flatnonzero(live & (f0 != 0))
    lits = np.concatenate([f0[ands], f1[ands], np.array(circuit.output_literals(), dtype=np.int64)])
    n = circuit.num_nodes
    pos = np.bincount(lits[(lits & 1) == 0] >> 1, minlength=n)
    neg = np.bincount(lits[(lits & 1) == 1] >> 1, minlength=n)
    return PhaseUse(live, pos, neg)


def nand_cost(circuit: Circuit, use: PhaseUse | None = None) -> int:
    """NAND2 gates the direct lowering of ``circuit`` produces (inverters included).

    Without ``use``, :meth:`Circuit.remembered` (a pipeline asks for the cost of each circuit
    before and after every pass and in every loop)."""
    if use is None:
        return circuit.remembered("nand_cost", lambda: nand_cost(circuit, phase_use(circuit)))
    f0, _, _ = circuit.arrays()
    is_and = f0 != 0
    is_and[0] = False
    is_input = ~is_and
    is_input[0] = False
    ands = int((use.live & is_and).sum())
    inverters = int(((use.pos > 0) & is_and).sum() + ((use.neg > 0) & is_input).sum())
    return ands + inverters


class CostView:
    """The phase-aware NAND2 cost view of one circuit (read-only, lists for speed).

    ``free[w]`` is node ``w``'s free phase (:meth:`Circuit.free_phase`),
    ``pos``/``neg`` its reads per phase, ``refs`` all its reads, ``ands`` the
    live AND nodes in topological order.  Prices decisions of the cut-based
    passes in NAND2 gates as lowering will build them: maximum fanout-free
    cones (:meth:`mffc`), DAG-aware program cost (:meth:`program_cost`).
    """

    def __init__(self, circuit: Circuit):
        f0, f1, lay = circuit.arrays()
        use = phase_use(circuit)
        self.f0 = f0.tolist()
        self.f1 = f1.tolist()
        self.layer = lay.tolist()
        self.pos = use.pos.tolist()
        self.neg = use.neg.tolist()
        self.refs = (use.pos + use.neg).tolist()
        self.free = (f0 != 0).astype(np.int64).tolist()
        self.ands = np.flatnonzero(use.live & (f0 != 0)).tolist()

    def costly_reads(self, w: int) -> int:
        """Reads of ``w`` in the phase lowering must invert."""
        return self.pos[w] if self.free[w] else self.neg[w]

    def is_costly(self, lit: int) -> bool:
        """Whether reading ``lit`` needs an inverter (its node's other phase)."""
        return (lit & 1) != self.free[lit >> 1]

    def mffc(self, v: int, leaves: tuple[int, ...],
             replaced: dict[int, Any]) -> tuple[int, int, list[int], set[int], dict[int, int]]:
        """``(saved, inner, covered, removed, costly)``: NAND2 gates freed by
        removing ``v``'s fanout-free cone above ``leaves`` (``v``'s own inverter
        excluded), the total gain of the earlier replacements inside it, their
        nodes, the removed nodes, and per node the costly-phase reads the
        removed nodes make."""
        f0, f1, refs, free = self.f0, self.f1, self.refs, self.free
        leafset = set(leaves)
        dec: dict[int, int] = {}
        costly: dict[int, int] = {}
        removed = [v]
        stack = [v]
        while stack:
            u = stack.pop()
            for lit in (f0[u], f1[u]):
                w = lit >> 1
                if not w:
                    continue
                if (lit & 1) != free[w]:  # a read in the costly phase
                    costly[w] = costly.get(w, 0) + 1
                if w in leafset or not f0[w]:
                    continue
                d = dec.get(w, 0) + 1
                dec[w] = d
                if d == refs[w]:
                    removed.append(w)
                    stack.append(w)
        inside = set(removed)
        saved = len(removed)
        saved += sum(1 for u in removed[1:] if self.pos[u])
        saved += sum(1 for w, n in costly.items() if w not in inside and n == self.costly_reads(w))
        covered = [u for u in removed[1:] if u in replaced]
        return saved, sum(replaced[u].gain for u in covered), covered, inside, costly

    def program_cost(self, circuit: Circuit, program: Program, signals: list[int],
                     removed: set[int], costly: dict[int, int]) -> int:
        """NAND2 gates ``program`` adds when built on ``signals`` (literals of
        ``circuit``), counting AND nodes that already exist outside ``removed``
        and inverters already present as free (DAG-aware)."""
        sig: list[int | None] = list(signals) + [None] * (program.num_inputs - len(signals))
        cost = 0
        for j, k in program.gates:
            a, b = sig[j], sig[k]
            out = None
            if a is not None and b is not None:
                if j == k:
                    if self.inverter_present(a ^ 1, removed, costly):
                        out = a ^ 1
                else:
                    found = circuit.lookup_and(a, b)
                    if found is not None and found > 1 and (found >> 1) not in removed:
                        out = found ^ 1
            if out is None:
                cost += 1
                if j == k and a is not None:
                    out = a ^ 1
            sig.append(out)
        return cost

    def inverter_present(self, lit: int, removed: set[int], costly: dict[int, int]) -> bool:
        """Whether literal ``lit`` is available without a new gate: its node's
        natural phase, or a costly phase that readers outside ``removed`` need anyway."""
        w = lit >> 1
        if not w:
            return True
        if (lit & 1) == self.free[w]:
            return True
        return w not in removed and self.costly_reads(w) > costly.get(w, 0)


# ---------------------------------------------------------------------- cut prices (the mapper's view)
#: The price of a cut function the library has no program for.
INFINITE = 1 << 20
_TABLES: tuple[np.ndarray, list[list[int]]] | None = None
_ARRAYS: tuple[np.ndarray, np.ndarray] | None = None


def _negation_table() -> np.ndarray:
    """``neg[t, m]``: the table of ``t`` with input ``i`` complemented where bit ``i`` of ``m`` is set."""
    t = np.arange(1 << 16, dtype=np.int64)
    out = np.empty((1 << 16, 16), dtype=np.int64)
    from nandc.synth.truth import VAR

    for m in range(16):
        x = t.copy()
        for i in range(4):
            if (m >> i) & 1:
                s, v = 1 << i, VAR[i]
                x = ((x & v) >> s) | ((x << s) & v)
        out[:, m] = x
    return out


def cut_cost_tables() -> tuple[np.ndarray, list[list[int]]]:
    """``(neg, cost)``: the negation table (see :func:`_negation_table`) and, per
    4-input table and input-negation mask (leaf ``i`` read complemented where
    bit ``i`` is set), the NAND2 gates of the library's program for the
    negated table, inverters included (:data:`INFINITE` where the library has none; lists
    for speed).

    Computed once per process from the shipped table only (no search, and
    nothing learned at run time), so that mapping is deterministic.
    """
    global _TABLES
    if _TABLES is None:
        neg, costs = cut_cost_arrays()
        _TABLES = (neg, costs.tolist())
    return _TABLES


def cut_cost_arrays() -> tuple[np.ndarray, np.ndarray]:
    """:func:`cut_cost_tables` with the costs as an int64 array of shape ``(65536, 16)``."""
    global _ARRAYS
    if _ARRAYS is None:
        from nandc.synth.library import shipped_programs
        from nandc.synth.truth import MASK, VAR, _canonical_tables

        canon, _ = _canonical_tables()
        costs = np.full(1 << 16, INFINITE, dtype=np.int64)
        for c, program in shipped_programs().items():
            costs[c] = program.cost
        costs[0] = costs[MASK] = 0
        for v in VAR:
            costs[v] = 0
        per_table = costs[canon]
        neg = _negation_table()
        _ARRAYS = (neg, np.ascontiguousarray(per_table[neg]))
    return _ARRAYS
