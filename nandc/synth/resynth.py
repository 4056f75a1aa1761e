"""Resynthesis machinery shared by the cut-based passes (rewrite, refactor).

A pass decides, node by node, to rebuild some AND node ``v`` from the leaves
of one of its cuts by a NAND2 program (a :class:`Replacement`); this module
prices such decisions in NAND2 gates as lowering will build them
(:class:`~nandc.synth.cost.CostView`: maximum fanout-free cones, inverters,
DAG-aware program cost) and rebuilds the circuit with all chosen replacements
(:func:`build`).

Leaves are used in their *free* phase: the phase lowering provides without
an inverter, an input's positive literal and an AND node's complement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from nandc.ir.circuit import Circuit
from nandc.synth.rebuild import cleaned, start_copy
from nandc.synth.cost import CostView, nand_cost
from nandc.synth.library import Program
from nandc.synth.progress import Progress, report

__all__ = ["Replacement", "instantiate", "build", "program_from_circuit", "apply_if_cheaper",
           "select_replacements"]


@dataclass(frozen=True)
class Replacement:
    """Rebuild node ``v`` from ``leaves`` by ``program`` (None: the constant ``const``).

    Variable ``perm[i]`` of the program is leaf ``i`` in its free phase; the
    program computes ``v`` complemented if ``negated``.  ``gain``: NAND2
    gates saved against the original cone (covered replacements included).
    """

    leaves: tuple[int, ...]
    program: Program | None
    perm: tuple[int, ...]
    negated: int
    gain: int
    const: int = 0


def select_replacements(work: Iterable[tuple[int, Any]], total: int, decide: Callable,
                        progress: Progress | None, stage: str) -> dict[int, Replacement]:
    """Replacements chosen node by node, in topological order.

    ``work`` yields ``(node, item)``; ``decide(node, item, replaced)`` returns
    ``(replacement or None, earlier replacements it covers)``; a new
    replacement supersedes the ones it covers.  Progress is reported as
    ``stage`` out of ``total`` nodes.
    """
    replaced: dict[int, Replacement] = {}
    for count, (v, item) in enumerate(work):
        if count & 0x3FFF == 0:
            report(progress, stage, count, total)
        r, covered = decide(v, item, replaced)
        if r is not None:
            for u in covered:
                del replaced[u]
            replaced[v] = r
    report(progress, stage, total, total)
    return replaced


def instantiate(c: Circuit, program: Program, inputs: list[int]) -> int:
    """Build ``program`` in ``c`` with signal ``i`` driven by literal ``inputs[i]``
    (``i < program.num_inputs``); returns the literal of the program's output."""
    sig = list(inputs) + [0] * (program.num_inputs - len(inputs))
    for j, k in program.gates:
        sig.append(sig[j] ^ 1 if j == k else c.and_(sig[j], sig[k]) ^ 1)
    return sig[program.output]


def _needed(circuit: Circuit, ctx: CostView, replaced: dict[int, Replacement]) -> list[int]:
    """AND nodes the rewritten circuit still uses, in increasing order."""
    mark = set()
    stack = [lit >> 1 for lit in circuit.output_literals()]
    f0, f1 = ctx.f0, ctx.f1
    while stack:
        v = stack.pop()
        if v in mark or not f0[v]:
            continue
        mark.add(v)
        r = replaced.get(v)
        if r is not None:
            stack.extend(r.leaves)
        else:
            stack.append(f0[v] >> 1)
            stack.append(f1[v] >> 1)
    return sorted(mark)


def build(circuit: Circuit, ctx: CostView, replaced: dict[int, Replacement]) -> Circuit:
    new, lit = start_copy(circuit)
    names = circuit.layer_names
    for v in _needed(circuit, ctx, replaced):
        new.current_layer = names[ctx.layer[v]]
        r = replaced.get(v)
        if r is None:
            a, b = ctx.f0[v], ctx.f1[v]
            lit[v] = new.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
        elif r.program is None:
            lit[v] = r.const
        else:
            free = [lit[x] ^ ctx.free[x] for x in r.leaves]
            signals = [0] * r.program.num_inputs
            for i, s in enumerate(free):
                signals[r.perm[i]] = s
            lit[v] = instantiate(new, r.program, signals) ^ r.negated
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    return cleaned(new)  # seldom a node left dead: then a second copy


def program_from_circuit(scratch: Circuit, root: int) -> Program | None:
    """The NAND2 program lowering builds for literal ``root`` of ``scratch``.

    ``scratch``'s inputs (in creation order) are the program's variables,
    taken as free signals: reading an input complemented costs an inverter,
    like reading an AND node positively.  One gate per AND node of the cone,
    one shared inverter per costly phase.  None if ``root`` is a constant.
    """
    if root < 2:
        return None
    k = scratch.num_inputs
    index = {node: i for i, node in enumerate(scratch.inputs)}
    gates: list[tuple[int, int]] = []
    natural: dict[int, int] = {}
    costly: dict[int, int] = {}

    def signal(lit: int) -> int:
        node = lit >> 1
        is_input = node in index
        if (lit & 1) == scratch.free_phase(node):  # (hash-consed AND nodes never read a constant)
            return index[node] if is_input else natural[node]
        if node not in costly:
            s = index[node] if is_input else natural[node]
            gates.append((s, s))
            costly[node] = k + len(gates) - 1
        return costly[node]

    cone = scratch.reachable([root])
    for node in range(1, scratch.num_nodes):
        if cone[node] and scratch.is_and(node):
            a, b = scratch.fanins(node)
            gates.append((signal(a), signal(b)))
            natural[node] = k + len(gates) - 1
    out = signal(root)  # may append an inverter
    return Program(tuple(gates), out, k)


def apply_if_cheaper(circuit: Circuit, ctx: CostView, replaced: dict[int, Replacement]) -> tuple[Circuit, int, int]:
    """``(result, cost_before, cost_after)``: the circuit rebuilt with ``replaced`` if
    that lowers its NAND2 cost, else its cleaned copy (itself when that is the same circuit)."""
    before = nand_cost(circuit)
    if replaced:
        new = build(circuit, ctx, replaced)
        after = nand_cost(new)
        if after < before:
            return new, before, after
    new = cleaned(circuit)
    return new, before, nand_cost(new)
