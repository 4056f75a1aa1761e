"""Exact synthesis of NAND2 circuits for small truth tables, by SAT.

A *NAND program* over ``n`` inputs is a list of gates ``(j, k)``: gate ``i``
(signal ``n + i``) computes ``NAND(signal j, signal k)`` of earlier signals
(``j == k`` is an inverter).  Its output is the last gate, possibly with the
convention that the program computes the target's complement
(:func:`synthesize` tries both).  Inputs are the positive variables: an
inverted input costs an inverter like any other.

:func:`synthesize` finds a program with the fewest gates for a truth table
of at most 4 variables: for ``r = 1, 2, ...`` it asks a SAT solver whether
``r`` gates suffice (a fanin selection per gate, one value variable per
gate and truth-table row, every gate but the last read by a later gate,
gates in increasing order of their fanin pair).  Each call has a conflict
budget; if a budget runs out the answer found so far (or none) is returned
and marked not proved optimal.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

__all__ = ["NandProgram", "synthesize", "evaluate_program"]


@dataclass(frozen=True)
class NandProgram:
    """``gates[i] = (j, k)``: signal ``n + i`` is ``NAND(j, k)``; the output is the
    last gate, complemented if ``negated`` (then the caller pays an inverter)."""

    num_inputs: int
    gates: tuple[tuple[int, int], ...]
    optimal: bool = True

    @property
    def cost(self) -> int:
        return len(self.gates)


def evaluate_program(prog: NandProgram, num_vars: int | None = None) -> int:
    """Truth table (bit ``t`` = value on row ``t``) of the program's last gate."""
    n = prog.num_inputs if num_vars is None else num_vars
    rows = 1 << n
    mask = (1 << rows) - 1
    sig = [_var_table(i, n) for i in range(prog.num_inputs)]
    for j, k in prog.gates:
        sig.append(~(sig[j] & sig[k]) & mask)
    return sig[-1] if prog.gates else sig[0]


def _var_table(i: int, n: int) -> int:
    """Truth table of variable ``i`` over ``n`` variables."""
    return sum(1 << t for t in range(1 << n) if (t >> i) & 1)


def _encode(target: int, n: int, r: int):
    """CNF for "``r`` NAND gates over ``n`` inputs compute ``target`` at the last gate"."""
    rows = 1 << n
    next_var = [0]

    def new() -> int:
        next_var[0] += 1
        return next_var[0]

    clauses: list[list[int]] = []
    value = [[new() for _ in range(rows)] for _ in range(r)]  # value[i][t]
    select: list[list[tuple[int, int, int]]] = []  # per gate: (j, k, var)
    for i in range(r):
        sig = n + i
        pairs = [(j, k, new()) for j, k in combinations_with_replacement(range(sig), 2)]
        select.append(pairs)
        # at least one fanin pair; no "at most one" is needed: the gate
        # constraints hold for every selected pair, so any of them will do
        clauses.append([v for _, _, v in pairs])
    # gate semantics per row
    for i in range(r):
        for j, k, s in select[i]:
            for t in range(rows):
                v = value[i][t]
                lits = []
                const = True  # AND of the constant (input) fanins on this row
                for src in {j, k}:
                    if src < n:
                        const = const and bool((t >> src) & 1)
                    else:
                        lits.append(value[src - n][t])
                if not const:  # an input fanin is 0: NAND is 1
                    clauses.append([-s, v])
                    continue
                # v = NOT(AND(lits)) (lits may be empty: v = 0)
                for x in lits:
                    clauses.append([-s, v, x])
                clauses.append([-s, -v] + [-x for x in lits])
    # output
    for t in range(rows):
        v = value[r - 1][t]
        clauses.append([v] if (target >> t) & 1 else [-v])
    # every gate but the last is read by a later gate
    for i in range(r - 1):
        sig = n + i
        users = [s for g in range(i + 1, r) for j, k, s in select[g] if sig in (j, k)]
        clauses.append(users)
    # symmetry breaking: fanin pairs of consecutive gates increase (j, k) lexicographically
    # unless the later gate reads the earlier one
    for i in range(r - 1):
        sig = n + i
        for j1, k1, s1 in select[i]:
            for j2, k2, s2 in select[i + 1]:
                if sig in (j2, k2):
                    continue
                if (j2, k2) < (j1, k1):
                    clauses.append([-s1, -s2])
    return clauses, select


def _solve(target: int, n: int, r: int, conflicts: int) -> tuple[bool | None, NandProgram | None]:
    from pysat.solvers import Solver

    clauses, select = _encode(target, n, r)
    with Solver(name="minisat22", bootstrap_with=clauses) as solver:
        solver.conf_budget(conflicts)
        answer = solver.solve_limited()
        if not answer:
            return answer, None
        model = set(v for v in solver.get_model() if v > 0)
    gates = tuple(next((j, k) for j, k, s in pairs if s in model) for pairs in select)
    return True, NandProgram(n, gates)


def synthesize(table: int, num_inputs: int, max_gates: int = 12, conflicts: int = 20000,
               start: int = 1) -> tuple[NandProgram | None, int]:
    """A NAND program with the fewest gates computing ``table`` (bit ``t`` = row ``t``).

    Requires ``num_inputs <= 4`` and a table that is neither constant nor an
    input variable (those need no gate), and that no program of fewer than
    ``start`` gates exists.  Tries ``start, start + 1, ...`` gates up to
    ``max_gates``.  Returns ``(program, lower_bound)``: the first program
    found (None if none of at most ``max_gates`` gates was found) and the
    smallest size not ruled out, i.e. every program has at least
    ``lower_bound`` gates.  ``program.optimal`` says whether
    ``program.cost == lower_bound``.
    """
    lower = max(1, start)
    proving = True
    for r in range(max(1, start), max_gates + 1):
        answer, prog = _solve(table, num_inputs, r, conflicts)
        if answer is None:
            proving = False
            continue
        if answer:
            return NandProgram(prog.num_inputs, prog.gates, proving), lower
        if proving:
            lower = r + 1
    return None, lower
