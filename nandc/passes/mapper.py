"""NAND2 technology mapping: cover the AIG by the smallest known NAND2 programs of its cuts.

Literal translation (:mod:`nandc.passes.nand`) gives each AND node one NAND2
gate and each literal read in its other phase one inverter; the structure and
the polarity of every signal are those of the AIG.  This pass instead *covers*
the AIG: every signal of the netlist implements one literal (a node in one of
its two phases), either by an inverter of the node's other phase or by the
NAND2 program of a 4-input cut of the node, whose leaves are read in the
phases the program wants.  The program library (:mod:`nandc.synth.library`)
holds, for every function of at most 4 inputs, the smallest NAND2 program
known (exact synthesis by SAT for most), so a cut costs what a NAND2 circuit
of its function really costs, inverters included; choosing the phase of
every leaf and of every node is part of the cover.

The mapping runs in three steps, as area-oriented mappers do:

1. *area flow*: bottom-up, for each node and phase, the cut, output phase and
   leaf phases whose program plus the leaves' flows (shared among their
   fanouts) is smallest;
2. *cover*: the choices reachable from the outputs, with reference counts;
3. *area recovery*: for every covered literal in topological order, its
   choice is dropped and the one adding the fewest gates to the current cover
   (exactly counted, leaves already present are free) is taken instead;
   repeated ``rounds`` times.

The netlist is then built with structural hashing of its gates, and the
pass keeps it only if it is smaller than the literal translation.  Every
cover is priced by that netlist's gate count; the compiled loops count it
without building the netlist (:func:`nandc.synth.kernels.cover_gates`), so
that of the ten or so covers of a mapping only the smallest is built.

With ``choices=true`` and structures kept by earlier ``snapshot`` steps,
the cover is computed on the choice network of :mod:`nandc.synth.choices`:
the nodes to cover are its representatives, and each takes the priority
cuts of all the structures proved equal to it.  The plain cover is computed
too and the smaller netlist kept, so choices never cost gates.
"""

from __future__ import annotations

import time
from functools import lru_cache
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from nandc.errors import NandcError
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.netlist import NandNetlist
from nandc.passes.base import Stats, pass_stats, register
from nandc.synth.choices import ChoiceNetwork, build_choices
from nandc.synth.cost import INFINITE, cut_cost_tables
from nandc.synth.cuts import iter_cuts
from nandc.synth.library import Program, shipped_programs
from nandc.synth.simulation import PatternPool
from nandc.passes.options import Progress, check_choice, parse_params, report, check_params
from nandc.synth.truth import MASK, VAR, p_canonical

__all__ = ["MapParams", "mapped_gates", "nand_map"]

_WIRE = ()  # inputs of a choice that needs no gate and reads nothing (input, constant)

#: ``map[swap=true]`` covers across the choices of the swapped structures only where the newest
#: snapshot's own (plain) cover has at most this fraction more gates than the best cover so far.
#: Where the swap won (bench_abc: 4 layers; random circuits: 2 of 12) that plain cover was at most
#: 6% larger; on ``ternary_mlp.fc1.absmax`` it is 34% larger, and the choices it skips were a fifth
#: of ``-O3``'s time there (and came 2% short of the best cover).
SWAP_SLACK = 0.1


STARTS = ("both", "direct", "flow")


@dataclass(frozen=True)
class MapParams:
    """``cuts_per_node``: priority cuts kept per node; ``rounds``: area-recovery rounds;
    ``start``: the cover recovery starts from, ``"direct"`` (literal
    translation: one NAND2 per AND node, inverters where needed), ``"flow"``
    (least area flow), or ``"both"`` (each, keeping the smaller netlist);
    ``max_nodes``: circuits with more AND nodes are lowered by
    ``nand[cover=true]`` instead (0: no limit); ``cover_rounds``: rounds of
    inverter-focused rewriting (as ``nand[cover=true]`` does) before mapping,
    which gives the mapper better structures to cut; ``choices``: also cover
    across the structures kept by earlier ``snapshot`` steps of the pipeline
    (structural choices, :mod:`nandc.synth.choices`), with ``choice_cuts``
    priority cuts per node (more structures give more cuts to keep), on
    circuits of at most ``choice_max_nodes`` AND nodes, with kept structures of
    at most as many (0: no limit);
    ``swap``: also map with the newest snapshot as the main structure and
    the circuit among the choices, keeping the smaller netlist (the main
    structure decides which members may join without a cycle)."""

    cuts_per_node: int = 8
    rounds: int = 2
    start: str = "both"
    max_nodes: int = 0
    cover_rounds: int = 3
    choices: bool = False
    choice_cuts: int = 16
    choice_max_nodes: int = 30000
    swap: bool = False

    def __post_init__(self):
        check_choice("map", "start", self.start, STARTS)
        check_params(self, "map", cuts_per_node=(1, None), choice_cuts=(1, None))


# ---------------------------------------------------------------------- choices
class _Choice(NamedTuple):
    """How one literal is implemented: ``gates`` new NAND2 gates reading ``inputs``
    (literals); ``table`` the function over the leaves in their read phases
    (None: an inverter of ``inputs[0]``, or a wire when ``inputs`` is empty).
    A named tuple: a cover makes one per literal it uses, many times per mapping."""

    gates: int
    inputs: tuple[int, ...]
    table: int | None = None


def _mask_sums(pairs: list[tuple[float, float]]) -> list[float]:
    """``sums[m]``: the sum over leaves ``i`` of ``pairs[i][bit i of m]``, for every mask ``m``."""
    sums = [0]
    for a0, a1 in pairs:
        sums = [x + a0 for x in sums] + [x + a1 for x in sums]
    return sums


def _best_of_cut(leaves: tuple[int, ...], g0: int, sums: list[float], costs, neg, bound):
    """``(total, choice)`` of the leaf phases that minimize the program's gates plus
    ``sums[mask of leaf phases]`` (see :func:`_mask_sums`), if below ``bound``;
    else ``(bound, None)``."""
    row = costs[g0]
    totals = [c + x for c, x in zip(row, sums)]
    best = min(totals)
    if best >= bound:
        return bound, None
    m = totals.index(best)
    return best, _Choice(row[m], tuple(2 * u + ((m >> i) & 1) for i, u in enumerate(leaves)), int(neg[g0][m]))


def _best_cut_choices(cuts, costs, neg, flow, fanout) -> list[tuple[float, _Choice | None]]:
    """For both phases of a node: the cut, output phase and leaf phases of least area flow."""
    best = [(float(INFINITE), None), (float(INFINITE), None)]
    for leaves, tt in cuts:
        if not leaves:
            return [(0.0, _Choice(0, _WIRE, tt)), (0.0, _Choice(0, _WIRE, tt ^ MASK))]
        sums = _mask_sums([(flow[2 * u] / fanout[u], flow[2 * u + 1] / fanout[u]) for u in leaves])
        for ph, g0 in ((0, tt), (1, tt ^ MASK)):
            total, choice = _best_of_cut(leaves, g0, sums, costs, neg, best[ph][0])
            if choice is not None:
                best[ph] = (total, choice)
    return best


class _Cover:
    """Reference counts of the literals a cover uses, and exact area by referencing."""

    def __init__(self, choice: list):
        self.choice = choice
        self.refs = [0] * len(choice)

    def _count(self, lit: int, step: int) -> int:
        """Add ``step`` (+1 or -1) to the references of ``lit``; a literal whose
        count reaches 1 (or 0) brings (or takes) its choice's gates and inputs
        with it.  Returns those gates."""
        changed = 0
        edge = 1 if step > 0 else 0
        stack = [lit]
        refs, choice = self.refs, self.choice
        while stack:
            x = stack.pop()
            refs[x] += step
            if refs[x] == edge:
                ch = choice[x]
                changed += ch.gates
                stack.extend(ch.inputs)
        return changed

    def ref(self, lit: int) -> int:
        """Add a reference to ``lit``; the gates this brings into the cover."""
        return self._count(lit, 1)

    def deref(self, lit: int) -> int:
        """Remove a reference to ``lit``; the gates this takes out of the cover."""
        return self._count(lit, -1)

    def exact(self, lit: int) -> int:
        """Gates referencing ``lit`` would add (the cover is left unchanged)."""
        if self.refs[lit]:
            return 0
        added = self.ref(lit)
        self.deref(lit)
        return added


def _area_flow(circuit: Circuit, ands: list[int], p: MapParams, costs, neg,
               progress: Progress | None = None, choices: ChoiceNetwork | None = None) -> tuple[list, list]:
    """Initial choices (least area flow) for both phases of every node of ``ands``
    (with ``choices``: its representatives, whose cuts include their members')."""
    f0, f1, _ = circuit.arrays()
    f0l, f1l = f0.tolist(), f1.tolist()
    n = circuit.num_nodes
    fanout = [1] * n
    counts = np.bincount(np.concatenate([f0[ands] >> 1, f1[ands] >> 1]), minlength=n) if ands else np.zeros(n)
    for u, c in enumerate(counts.tolist()):
        if c > 1:
            fanout[u] = c
    flow = [0.0] * (2 * n)
    choice: list = [None] * (2 * n)
    choice[0] = choice[1] = _Choice(0, _WIRE)
    for node in circuit.inputs:
        choice[2 * node] = _Choice(0, _WIRE)
        choice[2 * node + 1] = _Choice(1, (2 * node,))
        flow[2 * node + 1] = 1.0
    all_cuts = {}
    order, members = (ands, None) if choices is None else (choices.order, choices.members)
    mapped = set(ands) if choices is not None else None
    for count, (v, cuts) in enumerate(iter_cuts(f0l, f1l, order, 4, p.cuts_per_node, members)):
        if count & 0x3FFF == 0:
            report(progress, "map: cuts", count, len(order))
        if mapped is not None and v not in mapped:
            continue  # a member: its cuts are its representative's
        all_cuts[v] = cuts
        best = _best_cut_choices(cuts, costs, neg, flow, fanout)
        for ph in (0, 1):
            fl, ch = best[ph]
            other_fl = best[1 - ph][0]
            if other_fl + 1 < fl:  # at most one phase can be worse than the other plus one
                fl, ch = other_fl + 1, _Choice(1, (2 * v + 1 - ph,))
            flow[2 * v + ph], choice[2 * v + ph] = fl, ch
    report(progress, "map: cuts", len(ands), len(ands))
    return choice, all_cuts


_NAND_TABLE = MASK ^ (VAR[0] & VAR[1])


def _direct_choices(circuit: Circuit, ands: list[int], choice: list) -> None:
    """Set the choices of literal translation: ``~v`` is ``NAND`` of ``v``'s fanin
    literals, ``v`` its inverter."""
    f0, f1, _ = circuit.arrays()
    for v, a, b in zip(ands, f0[ands].tolist(), f1[ands].tolist()):
        choice[2 * v + 1] = _Choice(1, (a, b), _NAND_TABLE)
        choice[2 * v] = _Choice(1, (2 * v + 1,))


def _recover(cover: _Cover, ands: list[int], all_cuts, costs, neg, p: MapParams, round_no: int,
             progress: Progress | None = None) -> None:
    """One round of area recovery over the covered literals (see the module docstring)."""
    choice = cover.choice
    refs = cover.refs
    stage = f"map: recovery {round_no}"
    for count, v in enumerate(ands):
        if count & 0x3FFF == 0:
            report(progress, stage, count, len(ands))
        for ph in (0, 1):
            lit = 2 * v + ph
            if not refs[lit]:
                continue
            current = choice[lit]
            for x in current.inputs:
                cover.deref(x)
            exact: dict[int, int] = {}

            def ex(x: int) -> int:
                got = exact.get(x)
                if got is None:
                    got = exact[x] = cover.exact(x)
                return got

            best, best_choice = current.gates + sum(ex(x) for x in current.inputs), current
            other = choice[lit ^ 1]
            if (other.table is not None or other.inputs == _WIRE) and 1 + ex(lit ^ 1) < best:
                best, best_choice = 1 + ex(lit ^ 1), _Choice(1, (lit ^ 1,))
            flip = MASK if ph else 0
            for leaves, tt in all_cuts[v]:
                if not leaves:
                    best, best_choice = 0, _Choice(0, _WIRE, tt ^ flip)
                    break
                sums = _mask_sums([(ex(2 * u), ex(2 * u + 1)) for u in leaves])
                total, found = _best_of_cut(leaves, tt ^ flip, sums, costs, neg, best)
                if found is not None:
                    best, best_choice = total, found
            choice[lit] = best_choice
            for x in best_choice.inputs:
                cover.ref(x)
    report(progress, stage, len(ands), len(ands))


class _Built:
    """A recovered cover and its netlist: ``gates`` its NAND2 gates; :meth:`netlist` the netlist
    (built on demand where the gates were counted without building it), :meth:`choices` the
    choices and reference counts per literal."""

    def __init__(self, circuit: Circuit, gates: int, choice, refs, arrays: bool, net: NandNetlist | None = None):
        self.circuit, self.gates, self._choice, self._refs, self._arrays, self._net = (
            circuit, gates, choice, refs, arrays, net)

    def choices(self) -> tuple[list, list[int]]:
        if self._arrays:  # choice arrays: made into objects once
            self._choice = _choice_objects(self._choice, self._refs)
            self._refs, self._arrays = self._refs.tolist(), False
        return self._choice, self._refs

    def netlist(self) -> NandNetlist:
        if self._net is None:
            self._net = _build(self.circuit, *self.choices())
        return self._net


def _covers(circuit: Circuit, ands: list[int], p: MapParams, starts, progress: Progress | None,
            choices: ChoiceNetwork | None = None, seed: dict[int, _Choice] | None = None):
    """``(start, cover)`` (a :class:`_Built`) of the recovered cover from each start
    (``"direct"``, ``"flow"``, or ``"seed"``: the choices of ``seed``, a cover
    closed under inputs, where it has them and least area flow elsewhere)."""
    from nandc.synth.compiled import use_compiled

    if use_compiled(len(ands)):
        yield from _compiled_covers(circuit, ands, p, starts, progress, choices, seed)
        return
    neg, costs = cut_cost_tables()
    flow_choice, all_cuts = _area_flow(circuit, ands, p, costs, neg, progress, choices)
    for start in starts:
        choice = list(flow_choice)
        if start == "direct":
            _direct_choices(circuit, ands, choice)
        elif start == "seed":
            for lit, ch in seed.items():
                choice[lit] = ch
        cover = _Cover(choice)
        for lit in circuit.output_literals():
            cover.ref(lit)
        for round_no in range(1, p.rounds + 1):
            _recover(cover, ands, all_cuts, costs, neg, p, round_no, progress)
        net = _build(circuit, choice, cover.refs)
        yield start, _Built(circuit, net.num_gates, choice, cover.refs, False, net)


def _compiled_covers(circuit: Circuit, ands: list[int], p: MapParams, starts, progress: Progress | None,
                     choices: ChoiceNetwork | None = None, seed: dict[int, _Choice] | None = None):
    """:func:`_covers` by the compiled loops of :mod:`nandc.synth.kernels` (the same covers)."""
    from nandc.synth import kernels
    from nandc.synth.cost import cut_cost_arrays

    neg, costs = cut_cost_arrays()
    f0, f1, _ = circuit.arrays()
    n = circuit.num_nodes
    order = np.asarray(ands, dtype=np.int64)
    report(progress, "map: cuts", 0, len(ands))
    if choices is None:
        cuts = kernels.cut_arrays(f0, f1, order, 4, p.cuts_per_node)
    else:
        cuts = kernels.cut_arrays(f0, f1, np.asarray(choices.order, dtype=np.int64), 4, p.cuts_per_node,
                                  choices.members)
    fanout = np.bincount(np.concatenate([f0[order] >> 1, f1[order] >> 1]), minlength=n) if ands else np.zeros(n)
    fanout = np.maximum(fanout, 1).astype(np.float64)
    flow_choice = kernels.area_flow(n, order, np.asarray(circuit.inputs, dtype=np.int64), fanout, cuts, costs, neg)
    report(progress, "map: cuts", len(ands), len(ands))
    outputs = circuit.output_literals()
    programs = kernels.program_arrays(shipped_programs())
    for start in starts:
        choice = tuple(a.copy() for a in flow_choice)
        if start == "direct":
            kernels.direct_choices(order, f0, f1, choice)
        elif start == "seed":
            _set_choices(choice, seed)
        refs = kernels.new_refs(outputs, choice)
        for round_no in range(1, p.rounds + 1):
            report(progress, f"map: recovery {round_no}", 0, len(ands))
            kernels.recover_round(order, cuts, costs, neg, choice, refs)
            report(progress, f"map: recovery {round_no}", len(ands), len(ands))
        cover = _Built(circuit, kernels.cover_gates(refs, choice, circuit.inputs, programs), choice, refs, True)
        if cover.gates < 0:  # not buildable: the builder says why (or, should it build, gives the count)
            cover.gates = cover.netlist().num_gates
        yield start, cover


def _set_choices(choice, seed: dict[int, _Choice]) -> None:
    """Write the :class:`_Choice` objects of ``seed`` (literal -> choice) into choice arrays."""
    gates, nin, ins, tab = choice
    for lit, ch in seed.items():
        gates[lit] = ch.gates
        nin[lit] = len(ch.inputs)
        ins[lit, :len(ch.inputs)] = ch.inputs
        tab[lit] = -1 if ch.table is None else ch.table


def _translate(choice: list, refs: list[int], literal: list[int]) -> dict[int, _Choice] | None:
    """The referenced choices of a cover moved to another circuit by the node map
    ``literal`` (node -> literal there); None if two literals land on one with
    different choices."""
    out: dict[int, _Choice] = {}
    for x, r in enumerate(refs):
        if not r:
            continue
        ch = choice[x]
        y = literal[x >> 1] ^ (x & 1)
        moved = _Choice(ch.gates, tuple(literal[i >> 1] ^ (i & 1) for i in ch.inputs), ch.table)
        if out.setdefault(y, moved) != moved:
            return None
    return out


def _choice_objects(choice, refs: np.ndarray) -> list:
    """The :class:`_Choice` of every referenced literal of choice arrays (None elsewhere)."""
    gates, nin, ins, tab = choice
    out: list = [None] * len(gates)
    used = np.flatnonzero(refs > 0)
    for x, g, k, row, t in zip(used.tolist(), gates[used].tolist(), nin[used].tolist(),
                               ins[used].tolist(), tab[used].tolist()):
        out[x] = _Choice(g, tuple(row[:k]), None if t < 0 else t)
    return out


# ---------------------------------------------------------------------- building the netlist
class _Builder:
    """Gates of the netlist with structural hashing (``NAND`` is symmetric)."""

    def __init__(self, net: NandNetlist):
        self.net = net
        self.table: dict[tuple[int, int], int] = {}

    def nand(self, a: int, b: int, layer: int) -> int:
        key = (a, b) if a <= b else (b, a)
        s = self.table.get(key)
        if s is None:
            s = self.table[key] = self.net.nand(key[0], key[1], layer)
        return s


@lru_cache(maxsize=1 << 16)  # every 4-input table: a cover asks for the same few thousand
def _program(table: int) -> tuple[Program, tuple[int, ...]]:
    """The shipped program of ``table``'s class and the permutation relating them
    (variable ``perm[i]`` of the program is variable ``i`` of ``table``)."""
    canon, perm = p_canonical(table)
    for i, v in enumerate(VAR):
        if canon == v:
            return Program((), i), perm
    return shipped_programs()[canon], perm


def _build(circuit: Circuit, choice: list, refs: list[int]) -> NandNetlist:
    net = NandNetlist(circuit.name)
    builder = _Builder(net)
    n = circuit.num_nodes
    signal = [-1] * (2 * n)
    signal[0], signal[1] = 0, 1
    for node in circuit.inputs:
        signal[2 * node] = net.add_input()
    for bus in circuit.input_buses.values():
        net.input_buses[bus.name] = Bus(bus.name, tuple(signal[b & ~1] for b in bus.bits), bus.shape, bus.signed)
    _, _, lay = circuit.arrays()
    layl = lay.tolist()
    layer_ids = [net.layer_id(name) for name in circuit.layer_names]
    limit = 4 * len(choice) + 16  # no acyclic cover stacks more literals than this

    def build(lit: int, layer: int) -> int:
        """Signal of ``lit`` (its choice's inputs are built first, iteratively)."""
        stack = [lit]
        while stack:
            x = stack[-1]
            if signal[x] >= 0:
                stack.pop()
                continue
            ch = choice[x]
            pending = [y for y in ch.inputs if signal[y] < 0]
            if pending:
                stack.extend(pending)
                if len(stack) > limit:
                    raise NandcError(f"map: the cover of {circuit.name!r} reads literal {x} through itself "
                                     f"(an internal error, please report it)")
                continue
            stack.pop()
            own = layer_ids[layl[x >> 1]] if circuit.is_and(x >> 1) else layer
            if ch.table is None:  # inverter (inputs' inverters belong to their first reader)
                s = signal[ch.inputs[0]]
                signal[x] = builder.nand(s, s, own)
                continue
            if not ch.inputs:  # a constant
                signal[x] = 1 if ch.table == MASK else 0
                continue
            program, perm = _program(ch.table)
            sig = [0] * program.num_inputs
            for i, y in enumerate(ch.inputs):
                sig[perm[i]] = signal[y]
            for j, k in program.gates:
                sig.append(builder.nand(sig[j], sig[k], own))
            signal[x] = sig[program.output]
        return signal[lit]

    f0, _, _ = circuit.arrays()
    live = circuit.reachable()
    for node in np.flatnonzero(live & (f0 != 0)).tolist():
        for ph in (0, 1):
            if refs[2 * node + ph]:
                build(2 * node + ph, layer_ids[layl[node]])
    for bus in circuit.output_buses.values():
        net.set_output(bus.name, [build(b, 0) for b in bus.bits], bus.shape, bus.signed)
    return net


def _map_structure(circuit: Circuit, snapshots, p: MapParams, progress: Progress | None, notes: dict,
                   label: str, pool: PatternPool | None = None, bound: int | None = None) -> _Built:
    """The smallest cover of ``circuit`` (after its inverter cover) from every start, and
    across the structural choices of ``snapshots`` if any; figures go to ``notes``.  ``bound``:
    the choices are left out when no plain cover of ``circuit`` has at most this many gates."""
    f0, _, _ = circuit.arrays()
    ands = np.flatnonzero(circuit.reachable() & (f0 != 0)).tolist()
    starts = ("direct", "flow") if p.start == "both" else (p.start,)
    best = None
    for start, cover in _covers(circuit, ands, p, starts, progress):
        notes[f"{label}from_{start}"] = cover.gates
        if best is None or cover.gates < best.gates:
            best = cover
    network = None
    if snapshots and (bound is None or best.gates <= bound):
        report(progress, "map: choices", 0, len(ands))
        network = build_choices(circuit, list(snapshots), pool=pool)
        report(progress, "map: choices", len(ands), len(ands))
        notes.update({f"{label}choice_members": network.num_members,
                      f"{label}choice_cycles": network.stats["rejected_cycle"]})
    if network is not None and network.num_members:
        # from the plain cover too: area recovery never adds gates, so the choices can only improve on it
        # (only while every main node kept its own copy: a node merged into an earlier one would bring its
        # cut's leaves to that node, which may read it, a cycle)
        seed = _translate(*best.choices(), network.main_literal) if not network.stats["main_merged"] else None
        p_choices = replace(p, cuts_per_node=max(p.cuts_per_node, p.choice_cuts))
        for start, cover in _covers(network.circuit, network.reps, p_choices,
                                    starts + (("seed",) if seed else ()), progress, network, seed):
            notes[f"{label}choices_from_{start}"] = cover.gates
            if cover.gates < best.gates:
                best = cover
    return best


@register("map", "NAND2 technology mapping: cover by the smallest NAND2 programs of 4-input cuts, "
          "choosing every node's polarity", produces="netlist", params=MapParams, progress=True,
          uses_snapshots=True, uses_patterns=True)
def nand_map(circuit: Circuit, params=None, progress: Progress | None = None,
             snapshots: tuple[Circuit, ...] = (), patterns: PatternPool | None = None) -> tuple[NandNetlist, Stats]:
    """Cover ``circuit`` by NAND2 programs of its cuts (see the module docstring).

    With ``choices=true``, ``snapshots`` (other structures of the same circuit:
    same inputs and outputs) are structural choices: each node may be
    covered by the cuts of any structure proved equal to it; ``patterns``:
    counterexamples of earlier passes, which tell look-alike nodes of the
    structures apart before SAT is asked.

    Requires: a valid Circuit.  Ensures: a NandNetlist computing the same
    function on every output bus, with the same input order and buses;
    never more gates than :func:`~nandc.passes.nand.lower_to_nand` gives;
    gates tagged with the layer of the AND node they implement (an
    inverter of a primary input with the layer of a reader).
    """
    from nandc.passes.nand import lower_to_nand

    p = parse_params(MapParams, params, "map")
    t0 = time.perf_counter()
    ands = _live_ands(circuit)
    if p.max_nodes and ands > p.max_nodes:
        net, s = lower_to_nand(circuit, {"cover": True, "rounds": p.cover_rounds}, progress=progress)
        return net, pass_stats("map", circuit, net, t0, s.nand2_before, too_large=ands, **s.notes)
    covered, best, notes = _best_cover(circuit, ands, p, progress, snapshots, patterns)
    direct, _ = lower_to_nand(covered)
    notes["literal"] = direct.num_gates
    net = direct if direct.num_gates <= best.gates else best.netlist()
    return net, pass_stats("map", circuit, net, t0, **notes)


def mapped_gates(circuit: Circuit, params=None) -> int:
    """The NAND2 gates of :func:`nand_map`'s netlist of ``circuit`` (no snapshots, no patterns),
    counted without building it: for passes that compare structures by their mapping."""
    from nandc.passes.nand import lower_to_nand
    from nandc.synth.cost import nand_cost

    p = parse_params(MapParams, params, "map")
    ands = _live_ands(circuit)
    if p.max_nodes and ands > p.max_nodes:
        return lower_to_nand(circuit, {"cover": True, "rounds": p.cover_rounds})[0].num_gates
    covered, best, _ = _best_cover(circuit, ands, p, None, (), None)
    return min(nand_cost(covered), best.gates)


def _live_ands(circuit: Circuit) -> int:
    """The AND nodes the outputs reach."""
    f0, _, _ = circuit.arrays()
    return int(np.count_nonzero(circuit.reachable() & (f0 != 0)))


def _best_cover(circuit: Circuit, ands: int, p: MapParams, progress: Progress | None, snapshots, patterns):
    """``(covered, best, notes)``: ``circuit`` (of ``ands`` live AND nodes) after its inverter cover,
    the smallest cover of it (from every start, across the choices of ``snapshots`` and with the roles
    swapped as ``p`` says) and the figures of the covers tried."""
    from nandc.passes.nand import inverter_cover

    source = circuit
    if p.cover_rounds:
        circuit, _ = inverter_cover(circuit, p.cover_rounds, progress)
    notes: dict = {}
    if p.choice_max_nodes:  # structures too large to merge cheaply are left out
        snapshots = tuple(x for x in snapshots if x.num_ands <= p.choice_max_nodes)
    use_choices = p.choices and snapshots and (not p.choice_max_nodes or ands <= p.choice_max_nodes)
    best = _map_structure(circuit, snapshots if use_choices else (), p, progress, notes, "", patterns)
    if use_choices and p.swap and snapshots[-1].structural_hash() != source.structural_hash():
        # the newest snapshot as the main structure and the circuit among the choices: the main
        # structure decides which members can join (no cycles through it), so the roles matter
        other = snapshots[-1]
        if p.cover_rounds:
            other, _ = inverter_cover(other, p.cover_rounds, progress)
        swapped = _map_structure(other, (circuit, *snapshots[:-1]), p, progress, notes, "swap_", patterns,
                                 bound=int(best.gates * (1 + SWAP_SLACK)))
        if swapped.gates < best.gates:
            best = swapped
    return circuit, best, notes
