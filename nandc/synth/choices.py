"""Structural choices: several equivalent structures of one circuit, for the mapper to choose from.

A mapper covers the structure it is given: the cuts of a node are those of
*its* cone, so a function whose cheapest cover needs another decomposition
is out of reach.  Given *snapshots* of one circuit (the circuit itself and
restructured copies of it, with the same inputs and outputs), this module
builds one AIG holding all of them in which proved-equal nodes form a
*class*: a *representative* (the node the outputs and every fanin point to)
and *members* (other structures of the same function).  A mapper that
gives each representative the cuts of its members too (see
:func:`nandc.synth.cuts.iter_cuts`) can cover any mix of the snapshots.

How the classes are found is SAT sweeping (as :mod:`nandc.passes.sweep`):
the snapshots are simulated on the same random patterns; their nodes are
copied in order (the first snapshot first) through the hash-consing
constructor with every fanin replaced by its representative; a copy whose
signature matches a class is checked by SAT against the class's
representatives and joins the class when proved equal.  Every member is
proved (or structurally equal), so no budget affects correctness: an
unproved node simply stays a representative of its own.

Members must not make the graph cyclic: the cuts of a member are cuts of
its representative, so every fanin of the member has to be computable
without the representative.  Representatives get a *rank* (the first
snapshot's nodes their position; a node of a later snapshot that is new
ranks just above its highest fanin), and a node joins a class only if all
its fanins rank below the representative.  Processing representatives in
rank order, each after its members, is then a topological order of the
whole choice network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nandc.errors import NandcError
from nandc.ir.circuit import Circuit
from nandc.synth.fraig import EQUAL, WindowSolver
from nandc.synth.simulation import PatternPool, random_patterns, signatures

__all__ = ["ChoiceParams", "ChoiceNetwork", "build_choices"]


@dataclass(frozen=True)
class ChoiceParams:
    """Budgets of :func:`build_choices`: ``words`` of random simulation (64
    patterns each), SAT ``window`` (AND nodes) and ``conflicts`` per check,
    ``max_tries`` representatives of a class a node is checked against."""

    words: int = 8
    window: int = 32
    conflicts: int = 30
    max_tries: int = 2
    seed: int = 0


@dataclass
class ChoiceNetwork:
    """A circuit whose AND nodes' fanins and outputs are representatives, with the classes.

    ``circuit``: every node (representatives, members and unused copies);
    ``members[r]``: member literals of representative ``r`` (``2 * m + c``:
    ``r`` equals node ``m`` complemented when ``c`` is 1); ``order``: the AND
    nodes whose cuts the mapper needs, each member before its representative
    and every fanin before its reader; ``reps``: the representatives of
    ``order`` (the nodes to map), in the same order; ``main_literal[v]``: the
    literal standing for node ``v`` of the main circuit (the first snapshot);
    when ``stats["main_merged"]`` is 0 it is one-to-one and keeps the main
    circuit's structure (every main node has a copy of its own).
    """

    circuit: Circuit
    members: dict[int, list[int]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    reps: list[int] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    main_literal: list[int] = field(default_factory=list)

    @property
    def num_members(self) -> int:
        return sum(len(m) for m in self.members.values())


def _check_interface(main: Circuit, other: Circuit, index: int) -> None:
    if len(other.input_literals()) != len(main.input_literals()):
        raise NandcError(f"structural choices: snapshot {index} has {len(other.input_literals())} inputs, "
                         f"expected {len(main.input_literals())} (those of the circuit being mapped)")
    if [b.width for b in other.output_buses.values()] != [b.width for b in main.output_buses.values()]:
        raise NandcError(f"structural choices: snapshot {index} has output buses "
                         f"{[(b.name, b.width) for b in other.output_buses.values()]}, expected "
                         f"{[(b.name, b.width) for b in main.output_buses.values()]}")


def build_choices(main: Circuit, alternatives: list[Circuit], params: ChoiceParams | None = None,
                  pool: PatternPool | None = None) -> ChoiceNetwork:
    """The choice network of ``main`` and ``alternatives`` (see the module docstring);
    ``pool``: counterexamples found earlier, simulated along with the random patterns.

    Requires: every alternative has ``main``'s inputs (in ``input_literals``
    order) and output bus widths, and computes the same function (unproved
    nodes are never merged, so a wrong alternative only adds unused nodes).
    Ensures: the network's outputs are ``main``'s functions; every member is
    equal to its representative (proved); ``order`` is topological.
    """
    p = params or ChoiceParams()
    for i, alt in enumerate(alternatives, 1):
        _check_interface(main, alt, i)
    rng = np.random.default_rng(p.seed)
    num_inputs = len(main.input_literals())
    patterns = random_patterns(num_inputs, max(1, p.words), rng)
    if pool is not None:
        patterns = np.concatenate([patterns, pool.words(num_inputs)], axis=1)
    new, input_map = main.copy_interface()
    main_inputs = [input_map[lit >> 1] for lit in main.input_literals()]
    solver = WindowSolver(new, p.window, p.conflicts, capacity=4 * sum(s.num_nodes for s in [main, *alternatives]))
    rep_of = [0]  # node of ``new`` -> literal of its representative (equal to the node)
    rank: list[tuple[int, int, int]] = [(-1, 0, 0)]  # representative node -> rank
    classes: dict[int, list[int]] = {0: [0]}  # signature key -> normalized representative literals
    members: dict[int, list[int]] = {}
    stats = {"proved": 0, "simulated": 0, "rejected_cycle": 0, "unproved": 0, "main_merged": 0}
    f0_new = new.fanin_views()[0]
    for lit in main_inputs:
        while len(rep_of) <= lit >> 1:
            rep_of.append(2 * len(rep_of))
            rank.append((-1, 0, 0))
    for s_index, snap in enumerate([main, *alternatives]):
        f0, f1, lay = snap.arrays()
        live = snap.reachable()
        snap_inputs, keys, phase = signatures(snap, np.flatnonzero(live), patterns)
        lit = [-1] * snap.num_nodes
        lit[0] = 0
        for node_lit, new_lit in zip(snap.input_literals(), main_inputs):
            lit[node_lit >> 1] = new_lit
        keyl, phl = keys.tolist(), phase.tolist()
        if s_index == 0:
            for v in snap_inputs.tolist():
                classes.setdefault(keyl[v], []).append(lit[v] ^ phl[v])
        names = snap.layer_names
        f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
        if s_index == 0:
            main_lit = lit
            main_level = snap.levels().tolist()
        current = -1
        for v in np.flatnonzero(live & (f0 != 0)).tolist():
            if layl[v] != current:
                current = layl[v]
                new.current_layer = names[current]
            a, b = f0l[v], f1l[v]
            before = new.num_nodes
            x = new.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
            if new.num_nodes == before:  # an existing node (or a constant): already classified
                lit[v] = rep_of[x >> 1] ^ (x & 1)
                continue
            xn = x >> 1
            rep_of.append(x)
            fa, fb = rank[new.fanins(xn)[0] >> 1], rank[new.fanins(xn)[1] >> 1]
            top = max(fa, fb)
            own = (top[0], top[1], top[2] + 1)  # above every fanin, always
            if s_index == 0:
                own = max(own, (main_level[v], v, 0))
            rank.append(own)
            k, ph = keyl[v], phl[v]
            found, member = -1, False
            for r in classes.get(k, [])[: p.max_tries]:
                t = r ^ ph
                joins = t >= 2 and f0_new[t >> 1] != 0 and top < rank[t >> 1]
                if s_index and not joins:
                    # x cannot be a member of t's class (a cycle, or t is an input): the copy of the
                    # snapshot goes on from t on simulation alone, which is sound because only
                    # members count and every member is proved in the copy itself
                    found = t
                    stats["simulated"] += 1
                    break
                verdict, _ = solver.check(x, t)
                if verdict == EQUAL:
                    found, member = t, joins
                    stats["proved"] += 1
                    stats["main_merged"] += s_index == 0
                    break
                stats["unproved"] += 1
            if found < 0:
                classes.setdefault(k, []).append(x ^ ph)
                lit[v] = x
                continue
            rep_of[xn] = found
            lit[v] = found
            if member:
                members.setdefault(found >> 1, []).append(2 * xn + (found & 1))
            elif found >= 2 and f0_new[found >> 1]:
                stats["rejected_cycle"] += 1
    new.current_layer = ""
    for bus in main.output_buses.values():
        new.set_output(bus.name, [main_lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    solver.close()
    net = ChoiceNetwork(new, members, stats=stats, main_literal=main_lit)
    _order(net, rank)
    stats["members"] = net.num_members
    return net


def _order(net: ChoiceNetwork, rank: list[tuple[int, int, int]]) -> None:
    """Set ``net.order`` and ``net.reps``: the representatives the outputs need,
    through their own fanins and their members' fanins, each after everything
    it depends on and after its members (a depth-first topological sort; the
    ranks, which make the dependencies acyclic, order the roots)."""
    circuit = net.circuit
    f0, f1 = circuit.fanin_views()
    members = net.members

    def deps(v: int) -> list[int]:
        out = [f0[v] >> 1, f1[v] >> 1]
        for m in members.get(v, ()):
            out.append(f0[m >> 1] >> 1)
            out.append(f1[m >> 1] >> 1)
        return [u for u in out if f0[u]]

    state: dict[int, int] = {}  # 1: on the stack, 2: done
    reps: list[int] = []
    roots = sorted({lit >> 1 for lit in circuit.output_literals() if f0[lit >> 1]}, key=rank.__getitem__)
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(deps(root)))]
        while stack:
            v, todo = stack[-1]
            for u in todo:
                got = state.get(u)
                if got is None:
                    state[u] = 1
                    stack.append((u, iter(deps(u))))
                    break
                if got == 1:
                    raise NandcError(f"structural choices: node {u} depends on itself (an internal error: the "
                                     f"ranks should keep the choice network acyclic)")
            else:
                stack.pop()
                state[v] = 2
                reps.append(v)
    net.reps = reps
    order: list[int] = []
    for r in reps:
        order.extend(m >> 1 for m in members.get(r, ()))
        order.append(r)
    net.order = order
