"""SAT sweeping (fraiging): merge nodes that compute the same function.

Random simulation proposes candidates: nodes whose values agree (up to
complement) on every pattern, or are constant on every pattern.  The circuit
is then copied node by node in topological order through the hash-consing
constructor; a node whose copy is not structurally equal to the first copy
of its candidate class is checked (by exact tables over a small cut of both, over
the cut that stops at nodes read by :data:`STOP_FANOUT` or more AND nodes with the
values SAT finds its leaves cannot take, then by SAT:
:class:`~nandc.synth.fraig.WindowSolver`) and merged when proved
equal.  Because lower nodes are merged first, most candidates become
structurally equal by the time they are reached and need no check at all.

SAT calls are *windowed*: the miter ``x != y`` is encoded over at most
``window`` AND nodes of the union of both cones, nearest the roots first;
nodes whose fanins were not collected are free variables.  UNSAT therefore
proves ``x == y`` for every value of those nodes, hence for every input
(sound).  A satisfying assignment is a real counterexample only when the
window reached the inputs; it then becomes a simulation pattern of the next
round, which re-checks the classes it split.  An unproved candidate is
simply not merged, so the pass is sound whatever its budgets.

In a pipeline the counterexamples also go to the run's
:class:`~nandc.synth.simulation.PatternPool`, and every sweep simulates the
pool's patterns along with its random words: the pairs an earlier sweep
disproved are told apart by simulation (and their classes stay open to the
merges SAT can prove).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from nandc.errors import PassError
from nandc.ir.circuit import Circuit
from nandc.passes.base import Stats, pass_stats, register
from nandc.synth.rebuild import append_copies, cleaned, start_copy
from nandc.passes.options import Progress, parse_params, report, check_params
from nandc.synth.fraig import DIFFERENT, EQUAL, WindowSolver
from nandc.synth.simulation import ALL_ONES, PatternPool, random_patterns, signatures

__all__ = ["SweepParams", "sweep", "swept"]

#: Nodes read by at least this many AND nodes stop the cuts over which a round compares two
#: candidates before SAT on their whole cones (see :mod:`nandc.synth.fraig`).  On
#: ``ternary_mlp.fc1.absmax`` (64 quantized values each divided by their maximum) 3.5k of the 4.1k
#: merges SAT proved rest on every value being at most the maximum; over cuts that stop at the
#: maximum's bits (read by all 64 dividers) they take 5.0k one-value queries of ~10 us instead of 4.1k
#: two-sided cone queries of ~35 us: the sweep 0.28 -> 0.19 s, the same merges.  32 asked the fewest
#: queries of 8, 16 and 32.
STOP_FANOUT = 32
MAX_NEW_WORDS = 64  # counterexample words added to the simulation per round
MIN_NEW_PATTERNS = 64  # fewer counterexamples than this do not justify another round
#: Copy lazily (see :func:`_sweep_round`); False copies every node up front (the same result, slower).
LAZY_COPY = True


@dataclass(frozen=True)
class SweepParams:
    """Budgets of :func:`sweep`.

    ``words``: 64-pattern words of the first random simulation;
    ``rounds``: at most this many simulate-and-merge rounds (another round
    runs only if the last one proved a merge and found at least
    :data:`MIN_NEW_PATTERNS` counterexamples);
    ``window``: AND nodes per SAT window (an inconclusive window is retried
    once, 8 times larger); ``conflicts``: conflict budget per SAT call;
    ``max_tries``: candidates of its class a node is checked against;
    ``min_duplicates``: sweep only a circuit in which at least this fraction of
    the live AND nodes agree, on the first random simulation, with an earlier
    node (an input, the constant or another AND node), and return any other
    unchanged: with a value like 0.5, a first step that collapses massively
    duplicated logic before costlier analyses, and costs one simulation where
    there is little to merge (0: always sweep).
    """

    words: int = 8
    rounds: int = 3
    window: int = 32
    conflicts: int = 30
    max_tries: int = 2
    seed: int = 0
    min_duplicates: float = 0.0

    def __post_init__(self):
        check_params(self, "sweep")
        if not 0.0 <= self.min_duplicates <= 1.0:
            raise PassError(f"pass 'sweep': min_duplicates must be 0..1, found {self.min_duplicates!r}")


@dataclass
class _RoundResult:
    circuit: Circuit  # merged copy; may hold dead nodes
    counterexamples: list[dict[int, bool]]
    structural: int
    proved: int
    disproved: int
    unknown: int
    sat_calls: int


def _signatures(circuit: Circuit, patterns: np.ndarray):
    """``(live, inputs, keys, phase)``: the live nodes, the input nodes in input order and the
    simulation signatures (:func:`~nandc.synth.simulation.signatures`)."""
    live = circuit.reachable()
    inputs, keys, phase = signatures(circuit, np.flatnonzero(live), patterns)
    return live, inputs, keys, phase


def _duplicates(circuit: Circuit, live: np.ndarray, keys: np.ndarray) -> float:
    """The fraction of live AND nodes whose signature (up to complement) is a constant's, an
    input's or an earlier AND node's."""
    nodes = np.flatnonzero(live)
    is_and = circuit.arrays()[0][nodes] != 0
    ands = int(is_and.sum())
    if not ands:
        return 0.0
    own = np.unique(keys[nodes[is_and]])
    others = np.unique(np.append(keys[nodes[~is_and]], np.uint64(0)))  # key 0: the constants
    distinct = len(own) - int(np.isin(own, others, assume_unique=True).sum())
    return 1.0 - distinct / ands


def _sweep_round(circuit: Circuit, patterns: np.ndarray, p: SweepParams, round_no: int,
                 progress: Progress | None = None, simulated=None) -> _RoundResult:
    """One simulate-and-merge pass over ``circuit`` (see the module docstring); ``simulated``:
    its :func:`_signatures` under ``patterns`` when already computed.

    The copy is made lazily: until the first merge, the copy of every node is the node itself
    (nothing folds or merges), so the candidates are checked in ``circuit`` and the copy is only
    built at the first merge, from the nodes met so far (:func:`_start_copy`).  The SAT windows
    and cones are then the same up to renumbering, so the result is the eager copy's, node for
    node; a round that merges nothing (most of them, in the loops of ``-O3``) copies nothing and
    returns ``circuit`` itself.  Only when every input comes before every AND node, so that the
    renumbering keeps the node order the windows are collected in; else the copy is eager."""
    f0, f1, lay = circuit.arrays()
    live, inputs, keys, phase = simulated or _signatures(circuit, patterns)
    ands = np.flatnonzero(live & (f0 != 0))
    lazy = LAZY_COPY and (not len(inputs) or not len(ands) or int(inputs.max()) < int(ands[0]))
    keyl, phl = keys.tolist(), phase.tolist()
    if lazy:
        new, lit_of = None, None
        input_index = {int(v): i for i, v in enumerate(inputs)}
        lit = list(range(0, 2 * circuit.num_nodes, 2))  # every node its own copy
        # only nodes sharing their key with another live node (or the constant) can merge or be merged into
        shared = np.isin(keys[ands], np.append(keys[inputs], np.uint64(0)))
        _, where, counts = np.unique(keys[ands], return_inverse=True, return_counts=True)
        todo = ands[shared | (counts[where] > 1)].tolist()
    else:
        new, lit_of, input_index, lit = _start_copy(circuit, None, inputs)
        todo = ands.tolist()
    classes: dict[int, list[int]] = {0: [0]}  # key -> normalized literals of the class's copies
    for v in inputs.tolist():
        classes.setdefault(keyl[v], []).append(lit[v] ^ phl[v])
    dirty: set[int] = set()
    # the copy never outgrows the source: one solver can hold all of it, and is never reloaded
    solver = WindowSolver(new if new is not None else circuit, p.window, p.conflicts, capacity=2 * circuit.num_nodes)
    # stop cuts at the nodes many others read (in the source; their copies inherit the mark)
    fanout = np.bincount(np.concatenate([f0[ands] >> 1, f1[ands] >> 1]), minlength=circuit.num_nodes)
    stops = fanout >= STOP_FANOUT
    copy_stops = None
    if new is None:
        solver.stops = stops
    else:
        copy_stops = np.zeros(circuit.num_nodes, dtype=bool)
        solver.stops = copy_stops
    cexs: list[dict[int, bool]] = []
    structural = proved = disproved = unknown = 0
    names = circuit.layer_names
    f0l, f1l, layl = f0.tolist(), f1.tolist(), lay.tolist()
    current = -1
    stage = f"sweep round {round_no}"
    count, total = 0, len(todo)
    while count < total:
        v = todo[count]
        if count & 0xFFFF == 0:
            report(progress, stage, count, total)
        count += 1
        if new is None:
            x = 2 * v  # the node is its own copy until something merges
        else:
            if layl[v] != current:
                current = layl[v]
                new.current_layer = names[current]
            a, b = f0l[v], f1l[v]
            x = new.and_(lit[a >> 1] ^ (a & 1), lit[b >> 1] ^ (b & 1))
        k = keyl[v]
        members = classes.get(k)
        if members is None:
            classes[k] = [x ^ phl[v]]
            lit[v] = x
            continue
        ph = phl[v]
        merged = False
        for r in members[: p.max_tries]:
            t = r ^ ph
            if t == x:
                structural += 1
                merged = True
                break
            if k in dirty:
                break
            verdict, cex = solver.check(x, t)
            if verdict == EQUAL:
                proved += 1
                x = t
                merged = True
                break
            dirty.add(k)
            if verdict == DIFFERENT:
                disproved += 1
                cexs.append({input_index[n]: True for n, val in cex.items() if val})  # (left out: 0)
            else:
                unknown += 1
        if not merged:
            members.append(x ^ ph)
        lit[v] = x
        if copy_stops is not None and stops[v]:
            copy_stops[x >> 1] = True
        if merged and new is None:  # the first merge: the copy starts here, and every node after it is met
            new, lit_of, input_index, lit = _start_copy(circuit, ands[ands <= v], inputs, lit)
            for members_ in classes.values():
                members_[:] = [lit_of[r >> 1] ^ (r & 1) for r in members_]
            solver.renumber(new, lit_of)
            copy_stops = np.zeros(circuit.num_nodes, dtype=bool)
            copied = np.asarray(lit_of, dtype=np.int64)
            kept = copied >= 0
            copy_stops[copied[kept] >> 1] = stops[kept]
            solver.stops = copy_stops
            todo = todo[:count] + ands[ands > v].tolist()
            total = len(todo)
    report(progress, stage, total, total)
    if new is None:
        solver.close()
        return _RoundResult(circuit, cexs, structural, proved, disproved, unknown, solver.calls)
    new.current_layer = ""
    for bus in circuit.output_buses.values():
        new.set_output(bus.name, [lit[b >> 1] ^ (b & 1) for b in bus.bits], bus.shape, bus.signed)
    solver.close()
    return _RoundResult(new, cexs, structural, proved, disproved, unknown, solver.calls)


def _start_copy(circuit: Circuit, prefix: np.ndarray | None, inputs: np.ndarray, lit: list[int] | None = None):
    """``(new, node_literal, input_index, lit)`` at the start of a copy: ``new`` holds the interface
    and, in order, a copy of each AND node of ``prefix`` (their copies so far were the nodes
    themselves); ``node_literal[u]`` is the copy of node ``u`` (inputs and ``prefix``, else -1);
    ``input_index`` maps the copy's input nodes to positions in ``inputs``; ``lit`` (the copy's
    literal per node of ``circuit``, given in ``circuit``'s numbering) in the copy's numbering."""
    new, node_literal = start_copy(circuit)
    if prefix is not None:
        mapped = np.array(node_literal, dtype=np.int64)
        append_copies(new, circuit, prefix, mapped)
        node_literal = mapped.tolist()
    input_index = {node_literal[int(v)] >> 1: i for i, v in enumerate(inputs)}
    if lit is None:
        lit = list(node_literal)
    else:
        lit = [node_literal[x >> 1] ^ (x & 1) if x >= 0 and node_literal[x >> 1] >= 0 else -1 for x in lit]
    return new, node_literal, input_index, lit


def _counterexample_words(cexs: list[dict[int, bool]], num_inputs: int, rng: np.random.Generator) -> np.ndarray:
    """One pattern word per counterexample: bit 0 is the counterexample itself,
    bits 1..63 are copies with about 1/32 of the inputs flipped (its neighbours)."""
    base = np.zeros((num_inputs, len(cexs)), dtype=bool)
    for j, cex in enumerate(cexs):
        for i, val in cex.items():
            base[i, j] = val
    flips = ~np.uint64(1)  # the AND of five random words: density 1/32, bit 0 clear
    for _ in range(5):
        flips = flips & rng.integers(0, 1 << 64, size=base.shape, dtype=np.uint64, endpoint=False)
    return np.where(base, ALL_ONES, np.uint64(0)) ^ flips


@register("sweep", "SAT sweeping: merge nodes proved equivalent (candidates from random simulation)",
          params=SweepParams, progress=True, uses_patterns=True)
def sweep(circuit: Circuit, params=None, progress: Progress | None = None,
          patterns: PatternPool | None = None) -> tuple[Circuit, Stats]:
    """Merge functionally equivalent nodes and replace constant nodes by constants.

    ``patterns``: counterexamples of earlier passes, simulated along with the
    random words; the counterexamples found here are added to it.

    Requires: a valid Circuit.  Ensures: the same function on every output;
    every merge was proved (by exact tables over a cut, or by SAT) or is structural, so no budget affects
    correctness; the result is no larger than the input (it is rebuilt
    through the hash-consing constructor and dead nodes are dropped); layer
    tags of surviving nodes are kept.
    """
    p = parse_params(SweepParams, params, "sweep")
    t0 = time.perf_counter()
    rng = np.random.default_rng(p.seed)
    num_inputs = len(circuit.input_literals())
    pool = patterns if patterns is not None else PatternPool()
    patterns = np.concatenate([random_patterns(num_inputs, max(1, p.words), rng), pool.words(num_inputs)], axis=1)
    notes = {"structural": 0, "proved": 0, "disproved": 0, "unknown": 0, "sat_calls": 0, "rounds": 0}
    simulated = _signatures(circuit, patterns)
    if p.min_duplicates > 0.0:
        notes["duplicates"] = round(_duplicates(circuit, simulated[0], simulated[2]), 3)
        if notes["duplicates"] < p.min_duplicates:
            return circuit, pass_stats("sweep", circuit, circuit, t0, skipped=True, **notes)
    current = circuit
    for round_no in range(1, max(1, p.rounds) + 1):
        res = _sweep_round(current, patterns, p, round_no, progress, simulated)
        pool.add(num_inputs, res.counterexamples)
        simulated = None
        current = res.circuit
        notes["rounds"] = round_no
        for key in ("structural", "proved", "disproved", "unknown", "sat_calls"):
            notes[key] += getattr(res, key)
        if len(res.counterexamples) < MIN_NEW_PATTERNS or not res.proved:
            break
        extra = _counterexample_words(res.counterexamples[:MAX_NEW_WORDS], num_inputs, rng)
        patterns = np.concatenate([patterns, extra], axis=1)
    current = cleaned(current)
    current.remembered(SWEPT, lambda: True)
    return current, pass_stats("sweep", circuit, current, t0, **notes)


#: The name under which a sweep's result remembers (:meth:`Circuit.remembered`) that it is one.
SWEPT = "swept"


def swept(circuit: Circuit) -> bool:
    """Whether ``circuit`` is the result of a :func:`sweep` (and no node was added to it since):
    sweeping it again would find little to merge."""
    return bool(circuit.remembered(SWEPT, lambda: False))
