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

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.synth.rebuild import cleaned, first_seen, start_copy
from nandc.synth.compiled import use_compiled
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
    """AND nodes the rewritten circuit still uses, in increasing order (by the compiled sweep of
    :func:`nandc.synth.kernels.needed_nodes` where the engines use their compiled loops)."""
    if use_compiled(circuit.num_ands):
        from nandc.synth import kernels

        f0, f1, _ = circuit.arrays()
        got = kernels.needed_nodes(f0, f1, circuit.output_literals(), {v: r.leaves for v, r in replaced.items()})
        if got is not None:
            return got.tolist()
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
    """``circuit`` with each node of ``replaced`` rebuilt by its replacement, copied in one
    :meth:`~nandc.ir.circuit.Circuit.run_ands` program: slot ``v`` holds node ``v``'s copy, and
    the slots after the circuit's nodes the gates of the replacements' programs."""
    new, lit = start_copy(circuit)
    needed = _needed(circuit, ctx, replaced)
    layer_of = np.asarray(ctx.layer, dtype=np.int64)[needed] if needed else np.zeros(0, np.int64)
    used = first_seen(layer_of)
    position = np.zeros(len(circuit.layer_names), dtype=np.int64)
    position[used] = np.arange(len(used))
    f0, f1, free = ctx.f0, ctx.f1, ctx.free
    ops: list[tuple[int, int, int]] = []
    op_layer: list[int] = []
    slots = circuit.num_nodes
    for v, layer in zip(needed, position[layer_of].tolist()):
        r = replaced.get(v)
        if r is None:
            ops.append((v, f0[v], f1[v]))
        elif r.program is None:
            ops.append((v, r.const, -1))  # (slot 0 is the constant: slot literal 1 is true)
        else:
            sig = [0] * r.program.num_inputs  # (an input no leaf drives reads the constant false)
            for i, x in enumerate(r.leaves):
                sig[r.perm[i]] = 2 * x + free[x]
            start = len(ops)
            for j, k in r.program.gates:
                if j == k:
                    sig.append(sig[j] ^ 1)
                else:
                    ops.append((slots, sig[j], sig[k]))
                    sig.append(2 * slots + 1)  # a NAND gate: the complement of its AND
                    slots += 1
            ops.append((v, sig[r.program.output] ^ r.negated, -1))
            op_layer.extend([layer] * (len(ops) - start - 1))
        op_layer.append(layer)
    values = np.full(slots, -1, dtype=np.int64)
    values[:circuit.num_nodes] = lit
    names = circuit.layer_names
    new.run_ands(values, np.array(ops, dtype=np.int64).reshape(-1, 3), [names[i] for i in used.tolist()], op_layer)
    lit = values.tolist()
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
