"""Combinational equivalence of two circuits or netlists.

Two objects (each a :class:`~nandc.ir.Circuit` or a
:class:`~nandc.ir.NandNetlist`) are compared through their interfaces: they
must have the same input bus names with the same widths and the same output
bus names with the same widths.  Inputs are matched bit by bit within each bus
(never by creation order), outputs likewise.

Three methods, all returning an :class:`EquivResult`:

* ``exhaustive`` -- every one of the ``2**n`` input assignments, packed as bit
  slices and run through the circuit evaluator (:mod:`nandc.ir.evaluate`) in chunks
  of 65536 samples.  A proof; used by ``auto`` up to 16 inputs.
* ``simulation`` -- random samples.  It can only *refute*: "no difference
  found" is not a proof, and the result's ``method`` says so.
* ``sat`` -- a miter decided by a SAT solver.  Both circuits are copied into
  one hash-consed :class:`~nandc.ir.Circuit` over a single set of inputs, so
  structurally identical logic merges and costs nothing; each output pair that
  did not merge is XORed.  The miter is then *swept* (fraiging): random
  simulation groups nodes with equal signatures, and in topological order
  each node is rebuilt into a reduced circuit and, when simulation suggests
  it equals a lower node, proved equal by a small incremental SAT query and
  merged -- so logic above a merged node merges again by hashing.  Internal
  queries get a small conflict budget (an undecided pair is simply not
  merged); counterexamples refine the classes and are re-simulated, with
  their distance-1 neighbours, by any further sweep round.  AND
  nodes are Tseitin-encoded (three clauses each) as they are created and
  handed to the solver in bulk.  Finally the solver looks for an assignment
  that sets one of the remaining XORs.  A proof when UNSAT.

Every counterexample, however it was found, is re-checked by simulating both
objects on it before it is returned; ``mismatches`` lists the output bits that
really differ under it.

Why python-sat, and MiniSat 2.2 inside it: python-sat is maintained, ships
binary wheels on PyPI, and wraps many incremental solvers behind one API with
assumptions and conflict budgets (pyeda's bundled picosat is older and
unmaintained).  Sweeping asks thousands of tiny queries under assumptions,
where a solver's per-call overhead dominates; measured on this machine, on a
200k-node miter with 30% of the nodes restructured, MiniSat 2.2 spent 3.2 s
in the solver, Glucose 4.1 (incremental mode) 5.5 s, and CaDiCaL 1.9.5 was
several times slower than both.  :data:`SAT_SOLVER` names the solver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np

from nandc.errors import EquivalenceError
from nandc.ir.bits import num_words, pack_samples
from nandc.ir.circuit import Bus, Circuit
from nandc.ir.evaluate import Simulator, compile_circuit
from nandc.ir.netlist import NandNetlist
from nandc.synth.fraig import DIFFERENT, EQUAL, SAT_SOLVER, UNKNOWN, ConeSolver, WindowSolver

__all__ = [
    "EquivResult",
    "check_equivalence",
    "exhaustive_equivalence",
    "simulation_equivalence",
    "sat_equivalence",
    "AUTO_EXHAUSTIVE_INPUTS",
    "MAX_EXHAUSTIVE_INPUTS",
    "SAT_SOLVER",
]

#: ``auto`` enumerates every assignment up to this many inputs.
AUTO_EXHAUSTIVE_INPUTS = 16
#: ``exhaustive`` refuses more inputs than this (2**24 samples).
MAX_EXHAUSTIVE_INPUTS = 24
#: python-sat solver name used by ``sat``.

_SWEEP_SAMPLES = 1024  # random samples whose values group nodes into candidate classes
_FILTER_ROUNDS = 7  # further rounds of as many samples, simulated for the candidates only
# conflict budget of one internal query, round by round.  Few conflicts first: on a large miter a
# query costs ~1 ms per conflict (the cone solver holds every cone asked about) and most pairs undecided
# at 16 conflicts stay undecided at 256; later rounds, on the reduced miter, retry with more conflicts
# but give up after _LATER_ROUND_CONFLICTS conflicts spent on undecided queries.
_ROUND_CONFLICTS = (16, 256, 4096)
_LATER_ROUND_CONFLICTS = 8192
_GUIDED = 4096  # counterexamples of earlier rounds re-simulated by the next one
_NEIGHBOURED = 64  # the latest counterexamples whose distance-1 neighbours are simulated too
_SWEEP_WINDOW = 64  # AND nodes of the first, windowed try of an internal query
_CONE_CAPACITY = 1 << 22  # nodes the cone solver of internal queries holds before it is recycled
_REFINE_BATCH = 64  # refuted candidates collected before the others are re-checked
_CHUNK_LOG2 = 16  # samples per simulation chunk: 2**16 (1024 words)
_CHUNK_WORDS = (1 << _CHUNK_LOG2) // 64
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
# bit patterns of the six lowest input positions within one 64-sample word
_LOW_PATTERNS = tuple(
    np.uint64(sum(1 << s for s in range(64) if (s >> i) & 1)) for i in range(6)
)


@dataclass(frozen=True, eq=False)
class EquivResult:
    """The outcome of an equivalence check; truthy iff equivalent.

    ``method`` is ``"exhaustive"``, ``"simulation"`` or ``"sat"``: the method
    that decided.  When not equivalent, ``counterexample`` maps every input
    bus to the bits of one distinguishing assignment (shape ``bus.shape``,
    uint8) and ``mismatches`` names the output bits that differ under it
    (e.g. ``"y[3]"``).  (No ``==``: counterexamples hold numpy arrays.)
    """

    equivalent: bool
    method: str
    counterexample: dict[str, np.ndarray] | None = None
    mismatches: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.equivalent

    def __str__(self) -> str:
        if self.equivalent:
            if self.method == "simulation":
                return "no difference found by random simulation (not a proof)"
            return f"equivalent (proved by {self.method})"
        shown = ", ".join(self.mismatches[:8]) + (", ..." if len(self.mismatches) > 8 else "")
        inputs = "; ".join(
            f"{name}={_bit_string(bits)}" for name, bits in (self.counterexample or {}).items()
        )
        return f"NOT equivalent ({self.method}): {shown} differ for inputs {inputs}"


def _bit_string(bits: np.ndarray, limit: int = 64) -> str:
    """Bits in bus order (first bit first), cut after ``limit``."""
    flat = bits.reshape(-1).tolist()
    text = "".join(str(int(v)) for v in flat[:limit])
    return text + ("..." if len(flat) > limit else "")


def _check_options(samples: int, conflict_budget: int | None) -> None:
    if samples < 1:
        raise EquivalenceError(f"random simulation needs at least 1 sample, found {samples}")
    if conflict_budget is not None and conflict_budget < 1:
        raise EquivalenceError(
            f"conflict_budget must be at least 1 (or None for no limit), found {conflict_budget}"
        )


# ---------------------------------------------------------------------- interfaces
@dataclass(frozen=True)
class _Interface:
    """How two circuits line up.

    The *canonical* input order is the first circuit's input buses in
    declaration order, bits in bus order; ``rows_a[r]`` is the canonical
    index of row ``r`` of ``a.inputs`` (likewise ``rows_b``).  ``outs_a`` and
    ``outs_b`` are output literals in the canonical output order, named by
    ``out_names``.
    """

    inputs: tuple[Bus, ...]
    rows_a: np.ndarray
    rows_b: np.ndarray
    outs_a: tuple[int, ...]
    outs_b: tuple[int, ...]
    out_names: tuple[str, ...]

    @property
    def num_inputs(self) -> int:
        return len(self.rows_a)


def _as_circuit(obj: Circuit | NandNetlist, which: str) -> Circuit:
    if isinstance(obj, Circuit):
        return obj
    if isinstance(obj, NandNetlist):
        return obj.to_circuit()
    raise EquivalenceError(f"{which} object: expected a Circuit or NandNetlist, found {type(obj).__name__}")


def _bits(count: int) -> str:
    return f"{count} bit" if count == 1 else f"{count} bits"


def _describe(widths: dict[str, int]) -> str:
    return ", ".join(f"{name} ({_bits(w)})" for name, w in widths.items()) or "no buses"


def _match_buses(kind: str, expected: dict[str, Bus], found: dict[str, Bus]) -> None:
    """Raise :class:`EquivalenceError` unless both have the same bus names and widths."""
    want = {name: bus.width for name, bus in expected.items()}
    have = {name: bus.width for name, bus in found.items()}
    if want == have:
        return
    problems = [f"{n} has {_bits(have[n])} instead of {w}"
                for n, w in want.items() if n in have and have[n] != w]
    problems += [f"{n} is missing" for n in want if n not in have]
    problems += [f"{n} is unexpected" for n in have if n not in want]
    raise EquivalenceError(
        f"{kind} buses differ: expected {_describe(want)}; found {_describe(have)} ({', '.join(problems)})"
    )


def _canonical_rows(c: Circuit, buses: tuple[Bus, ...]) -> np.ndarray:
    """Canonical input index of every row of ``c.inputs`` (buses matched by name)."""
    position = {node: r for r, node in enumerate(c.inputs)}
    rows = np.full(c.num_inputs, -1, dtype=np.int64)
    k = 0
    for bus in buses:
        for lit in c.input_buses[bus.name].bits:
            rows[position[lit >> 1]] = k
            k += 1
    if k != c.num_inputs:
        raise EquivalenceError(
            f"circuit {c.name!r} has {c.num_inputs - k} input(s) outside any input bus; "
            "equivalence matches inputs by bus name"
        )
    return rows


def _interface(a: Circuit, b: Circuit) -> _Interface:
    _match_buses("input", a.input_buses, b.input_buses)
    _match_buses("output", a.output_buses, b.output_buses)
    inputs = tuple(a.input_buses.values())
    outputs = tuple(a.output_buses.values())
    return _Interface(
        inputs=inputs,
        rows_a=_canonical_rows(a, inputs),
        rows_b=_canonical_rows(b, inputs),
        outs_a=tuple(lit for bus in outputs for lit in bus.bits),
        outs_b=tuple(lit for bus in outputs for lit in b.output_buses[bus.name].bits),
        out_names=tuple(name for bus in outputs for name in _bit_names(bus)),
    )


def _interface_by_order(a: Circuit, b: Circuit) -> _Interface:
    """Pins matched by position: input ``k`` of ``a`` (in creation order, the order
    of a file's inputs) with input ``k`` of ``b``, output bit ``k`` with output bit ``k``."""
    outs_a, outs_b = tuple(a.output_literals()), tuple(b.output_literals())
    if a.num_inputs != b.num_inputs or len(outs_a) != len(outs_b):
        raise EquivalenceError(
            f"pins matched by order: the first has {a.num_inputs} inputs and {len(outs_a)} outputs, "
            f"the second {b.num_inputs} inputs and {len(outs_b)} outputs"
        )
    rows = np.arange(a.num_inputs, dtype=np.int64)
    inputs = (Bus("in", tuple(2 * n for n in a.inputs), (a.num_inputs,)),)
    out_names = tuple(name for bus in a.output_buses.values() for name in _bit_names(bus))
    if len(out_names) != len(outs_a):
        out_names = tuple(f"out[{k}]" for k in range(len(outs_a)))
    return _Interface(inputs, rows, rows.copy(), outs_a, outs_b, out_names)


def _bit_names(bus: Bus) -> list[str]:
    return bus.bit_names() if bus.shape else [bus.name]


MATCHES = ("names", "order")


def _prepare(a: Circuit | NandNetlist, b: Circuit | NandNetlist,
             match: str = "names") -> tuple[Circuit, Circuit, _Interface]:
    if match not in MATCHES:
        raise EquivalenceError(f"unknown pin matching {match!r}; expected one of {', '.join(MATCHES)}")
    ca, cb = _as_circuit(a, "first"), _as_circuit(b, "second")
    return ca, cb, (_interface(ca, cb) if match == "names" else _interface_by_order(ca, cb))


# ---------------------------------------------------------------------- simulation helpers
def _simulate_both(a: Circuit, b: Circuit, iface: _Interface,
                   chunks: Iterable[tuple[np.ndarray, int]]) -> Iterator[tuple[np.ndarray, np.ndarray, int]]:
    """For each chunk of canonical input slices: the XOR of both circuits' outputs.

    Yields ``(words, differ, count)``; each circuit is compiled once.
    """
    sim_a, sim_b = compile_circuit(a, iface.outs_a), compile_circuit(b, iface.outs_b)
    for words, count in chunks:
        yield words, sim_a.run(words[iface.rows_a]) ^ sim_b.run(words[iface.rows_b]), count


def _first_set_sample(slices: np.ndarray, num_samples: int) -> int | None:
    """Index of the first sample (below ``num_samples``) on which any row of ``slices`` is 1."""
    if slices.shape[0] == 0 or num_samples == 0:
        return None
    differ = np.bitwise_or.reduce(slices, axis=0)[: num_words(num_samples)]
    if num_samples % 64:
        differ[-1] &= np.uint64((1 << (num_samples % 64)) - 1)
    hits = np.flatnonzero(differ)
    if not len(hits):
        return None
    word = int(differ[hits[0]])
    return int(hits[0]) * 64 + (word & -word).bit_length() - 1


def _sample_bits(words: np.ndarray, sample: int) -> np.ndarray:
    """The canonical input bits ``(num_inputs,)`` of one sample of packed ``words``."""
    return ((words[:, sample // 64] >> np.uint64(sample % 64)) & np.uint64(1)).astype(np.uint8)


def _find_difference(a: Circuit, b: Circuit, iface: _Interface,
                     chunks: Iterable[tuple[np.ndarray, int]]) -> np.ndarray | None:
    """Canonical bits of the first distinguishing sample over ``(words, count)`` chunks."""
    for words, differ, count in _simulate_both(a, b, iface, chunks):
        sample = _first_set_sample(differ, count)
        if sample is not None:
            return _sample_bits(words, sample)
    return None


def _refutation(a: Circuit, b: Circuit, iface: _Interface, bits: np.ndarray, method: str) -> EquivResult:
    """The not-equivalent result for canonical input ``bits``, checked by simulation.

    Raises AssertionError (a bug in nandc, not the user's fault) if ``bits``
    does not in fact distinguish the circuits.
    """
    words = bits.astype(np.uint64).reshape(-1, 1)
    _, slices, _ = next(_simulate_both(a, b, iface, [(words, 1)]))
    differ = (slices[:, 0] & np.uint64(1)).astype(bool)
    if not differ.any():
        raise AssertionError(
            f"internal error: the {method} counterexample does not distinguish the circuits"
        )
    counterexample: dict[str, np.ndarray] = {}
    k = 0
    for bus in iface.inputs:
        counterexample[bus.name] = bits[k:k + bus.width].reshape(bus.shape).copy()
        k += bus.width
    mismatches = tuple(name for name, d in zip(iface.out_names, differ.tolist()) if d)
    return EquivResult(False, method, counterexample, mismatches)


# ---------------------------------------------------------------------- exhaustive
def _exhaustive_chunks(n: int) -> Iterator[tuple[np.ndarray, int]]:
    """All ``2**n`` assignments of ``n`` inputs, packed, in chunks of at most 65536 samples.

    Sample ``s`` assigns bit ``i`` of ``s`` to canonical input ``i``.
    """
    per_chunk = min(1 << n, 1 << _CHUNK_LOG2)
    words = num_words(per_chunk)
    word_index = np.arange(words, dtype=np.int64)
    for chunk in range(max(1, (1 << n) >> _CHUNK_LOG2)):
        out = np.empty((n, words), dtype=np.uint64)
        for i in range(n):
            if i < 6:
                out[i] = _LOW_PATTERNS[i]
            elif i < _CHUNK_LOG2:
                out[i] = ((word_index >> (i - 6)) & 1).astype(np.uint64) * _ALL_ONES
            else:
                out[i] = _ALL_ONES if (chunk >> (i - _CHUNK_LOG2)) & 1 else np.uint64(0)
        yield out, per_chunk


def _exhaustive(a: Circuit, b: Circuit, iface: _Interface) -> EquivResult:
    n = iface.num_inputs
    if n > MAX_EXHAUSTIVE_INPUTS:
        raise EquivalenceError(
            f"exhaustive equivalence enumerates 2**n assignments: at most {MAX_EXHAUSTIVE_INPUTS} "
            f"inputs are allowed, found {n}; use method 'sat' or 'auto'"
        )
    bits = _find_difference(a, b, iface, _exhaustive_chunks(n))
    if bits is None:
        return EquivResult(True, "exhaustive")
    return _refutation(a, b, iface, bits, "exhaustive")


def exhaustive_equivalence(a: Circuit | NandNetlist, b: Circuit | NandNetlist) -> EquivResult:
    """Decide equivalence by evaluating every input assignment.

    Requires: matching interfaces and at most :data:`MAX_EXHAUSTIVE_INPUTS`
    inputs.  Ensures: a proof either way; a counterexample is the
    lowest-numbered distinguishing assignment (first bus bit = bit 0).
    """
    return _exhaustive(*_prepare(a, b))


# ---------------------------------------------------------------------- random simulation
def _random_chunks(n: int, samples: int, seed: int,
                   chunk_samples: int = _CHUNK_WORDS * 64) -> Iterator[tuple[np.ndarray, int]]:
    """``samples`` random assignments of ``n`` inputs, packed, in chunks of ``chunk_samples``."""
    rng = np.random.default_rng(seed)
    for start in range(0, samples, chunk_samples):
        count = min(chunk_samples, samples - start)
        yield rng.integers(0, 1 << 64, size=(n, num_words(count)), dtype=np.uint64), count


def _simulation(a: Circuit, b: Circuit, iface: _Interface, samples: int, seed: int) -> EquivResult:
    bits = _find_difference(a, b, iface, _random_chunks(iface.num_inputs, samples, seed))
    if bits is None:
        return EquivResult(True, "simulation")
    return _refutation(a, b, iface, bits, "simulation")


def simulation_equivalence(a: Circuit | NandNetlist, b: Circuit | NandNetlist,
                           samples: int = 4096, seed: int = 0) -> EquivResult:
    """Compare on ``samples`` random input assignments drawn with ``seed``.

    Requires: matching interfaces.  Ensures: a counterexample if one of the
    samples distinguishes the circuits; otherwise ``equivalent`` is True but
    this is *not* a proof (``method == "simulation"``).
    """
    _check_options(samples, None)
    return _simulation(*_prepare(a, b), samples, seed)


# ---------------------------------------------------------------------- SAT
@dataclass(frozen=True)
class _Miter:
    """Both circuits in one hash-consed circuit over shared inputs.

    ``inputs`` are the miter's input literals in canonical order; ``diffs``
    the XOR literals of the output pairs that did not merge structurally.
    """

    circuit: Circuit
    inputs: tuple[int, ...]
    diffs: tuple[int, ...]


def _copy_cone(src: Circuit, dst: Circuit, lit_of: list[int], roots: Iterable[int]) -> None:
    """Rebuild the cone of ``roots`` of ``src`` inside ``dst`` through ``dst.and_``.

    Requires: ``lit_of[node]`` holds the ``dst`` literal of node 0 and every
    input of ``src``.  Ensures: it holds one for every node of the cone.
    """
    f0, f1, _ = src.arrays()
    cone = src.reachable(roots) & (f0 != 0)
    f0l, f1l = f0.tolist(), f1.tolist()
    and_ = dst.and_
    for node in np.flatnonzero(cone).tolist():
        x, y = f0l[node], f1l[node]
        lit_of[node] = and_(lit_of[x >> 1] ^ (x & 1), lit_of[y >> 1] ^ (y & 1))


def _build_miter(a: Circuit, b: Circuit, iface: _Interface) -> _Miter:
    m = Circuit("miter")
    inputs = tuple(m.add_input() for _ in range(iface.num_inputs))
    outs: list[list[int]] = []
    for c, rows, roots in ((a, iface.rows_a, iface.outs_a), (b, iface.rows_b, iface.outs_b)):
        lit_of = [-1] * c.num_nodes
        lit_of[0] = 0
        for node, row in zip(c.inputs, rows.tolist()):
            lit_of[node] = inputs[row]
        _copy_cone(c, m, lit_of, roots)
        outs.append([lit_of[lit >> 1] ^ (lit & 1) for lit in roots])
    diffs = tuple(m.xor(x, y) for x, y in zip(*outs) if x != y)
    return _Miter(m, inputs, diffs)


def _candidates(m: Circuit, nodes: np.ndarray, sig: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every node of ``m``: a lower node with the same signature up to complement.

    ``nodes`` is ascending and starts with the constant node 0; ``sig`` holds
    their signatures.  Returns ``rep`` (``-1`` where there is none, and for
    inputs) and ``flip`` (the node equals ``rep`` complemented).  Each class
    of equal normalized signatures is represented by its lowest node.
    """
    flip_row = (sig[:, 0] & np.uint64(1)).astype(bool)
    norm = np.where(flip_row[:, None], ~sig, sig)
    keys = np.ascontiguousarray(norm).view(np.dtype((np.void, 8 * norm.shape[1]))).reshape(-1)
    cls = np.unique(keys, return_inverse=True)[1].reshape(-1)
    order = np.argsort(cls, kind="stable")  # rows grouped by class, ascending inside
    first = np.concatenate(([True], cls[order][1:] != cls[order][:-1]))
    rep_row = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    rows, reps = order[~first], rep_row[~first]
    rep = np.full(m.num_nodes, -1, dtype=np.int64)
    flip = np.zeros(m.num_nodes, dtype=bool)
    rep[nodes[rows]] = nodes[reps]
    flip[nodes[rows]] = flip_row[rows] ^ flip_row[reps]
    f0, _, _ = m.arrays()
    rep[f0 == 0] = -1  # inputs are never equal to anything else
    return rep, flip


def _drop_refuted(sim: Simulator, nodes: np.ndarray, rep: np.ndarray, flip: np.ndarray,
                  cand: np.ndarray, words: np.ndarray) -> None:
    """Drop (in place) the candidates ``cand`` whose values on ``words`` differ from their rep's.

    ``sim`` simulates the positive literals of ``nodes`` (ascending).  Every
    sample is a valid assignment (zero padding included), so a difference
    is a proof that the candidate is wrong.
    """
    if not len(cand):
        return
    rows = np.searchsorted(nodes, np.concatenate((cand, rep[cand])))
    select, where = np.unique(rows, return_inverse=True)
    values = sim.run(words, select)
    mine, theirs = values[where[:len(cand)]], values[where[len(cand):]]
    theirs[flip[cand]] ^= _ALL_ONES
    rep[cand[np.any(mine != theirs, axis=1)]] = -1


def _fraig(m: Circuit, cone: np.ndarray, rep: np.ndarray, flip: np.ndarray, conflicts: int,
           refute: Callable[[int, np.ndarray], None], found: list[np.ndarray],
           max_undecided: int) -> tuple[Circuit, list[int], int]:
    """Rebuild the AND nodes ``cone`` of ``m`` into a reduced circuit, merging proven equivalences.

    Nodes are taken in topological order.  Each is rebuilt through the
    hash-consing ``and_`` (so logic above already-merged nodes merges for
    free); if simulation suggested it equals a lower node and the SAT engine
    (:class:`~nandc.synth.fraig.WindowSolver`, the one under the sweep pass,
    with ``conflicts`` per query) proves it, the lower node's literal is used
    instead.  Counterexamples of failed proofs are batched:
    ``refute(node, patterns)`` must drop the candidates above ``node`` that
    the patterns (rows of canonical input bits) refute; every one is also
    appended to ``found``.  Returns the reduced circuit, the map from
    ``m``'s nodes to its literals (inputs keep their numbers: node ``i`` is
    input ``i``), and how many queries were left undecided (after
    ``max_undecided`` of them, no further query is asked).
    """
    fraig = Circuit("fraig")
    lit_of = [-1] * m.num_nodes
    lit_of[0] = 0
    for node in m.inputs:
        lit_of[node] = fraig.add_input()
    num_inputs = m.num_inputs
    solver = WindowSolver(fraig, _SWEEP_WINDOW, conflicts, capacity=_CONE_CAPACITY, persistent=True)
    f0, f1, _ = m.arrays()
    f0l, f1l, repl, flipl = f0.tolist(), f1.tolist(), rep.tolist(), flip.tolist()
    patterns: list[np.ndarray] = []
    and_ = fraig.and_
    undecided: set[int] = set()  # representatives the solver gave up on: their classes are not checked again
    try:
        for node in cone.tolist():
            x, y = f0l[node], f1l[node]
            lit = and_(lit_of[x >> 1] ^ (x & 1), lit_of[y >> 1] ^ (y & 1))
            r = repl[node]
            if r >= 0 and r not in undecided and len(undecided) < max_undecided:
                target = lit_of[r] ^ flipl[node]
                if target != lit:
                    verdict, cex = solver.check(lit, target)
                    if verdict == UNKNOWN:
                        undecided.add(r)
                    if verdict == EQUAL and target >> 1 < lit >> 1:
                        lit = target
                    elif verdict == DIFFERENT:
                        bits = np.zeros(num_inputs, dtype=np.uint8)
                        for v, value in cex.items():
                            bits[v - 1] = value
                        patterns.append(bits)
                        found.append(bits)
                        if len(patterns) == _REFINE_BATCH:
                            refute(node, np.array(patterns))
                            repl = rep.tolist()
                            patterns = []
            lit_of[node] = lit
    finally:
        solver.close()
    return fraig, lit_of, len(undecided)


def _sweep_round(m: Circuit, diffs: list[int], num_inputs: int, conflicts: int, seed: int,
                 found: list[np.ndarray], max_undecided: int = 1 << 62) -> tuple[Circuit, list[int], np.ndarray | None, bool, int]:
    """One simulate-and-merge round over the miter ``m`` with output XORs ``diffs``.

    Simulates ``m`` on fresh random samples plus every counterexample in
    ``found`` (and its distance-1 neighbours, which split look-alike
    classes the counterexample alone does not).  If an XOR is set on
    a sample, returns its canonical input bits (and whether the sample came
    from ``found``); otherwise the swept circuit and its XOR literals.
    Returns ``(circuit, diffs, bits, from_found, undecided)``.
    """
    f0, _, _ = m.arrays()
    nodes = np.flatnonzero(m.reachable(diffs) | (np.arange(m.num_nodes) == 0))
    sim = compile_circuit(m, (2 * nodes).tolist())
    rounds = _random_chunks(num_inputs, _SWEEP_SAMPLES * (1 + _FILTER_ROUNDS), seed, _SWEEP_SAMPLES)
    words = next(rounds)[0]
    extra = 0
    if found:
        guided = [found[-_GUIDED:]]
        for bits in found[-_NEIGHBOURED:]:
            near = np.repeat(bits[None, :], num_inputs, axis=0)
            near[np.arange(num_inputs), np.arange(num_inputs)] ^= 1
            guided.append(near)
        rows = np.concatenate(guided)
        extra = len(rows)
        words = np.concatenate((pack_samples(rows), words), axis=1)
    sig = sim.run(words)
    darr = np.array(diffs, dtype=np.int64)
    diff_values = sig[np.searchsorted(nodes, darr >> 1)]
    diff_values[(darr & 1).astype(bool)] ^= _ALL_ONES
    total = 64 * num_words(extra) + _SWEEP_SAMPLES if extra else _SWEEP_SAMPLES
    sample = _first_set_sample(diff_values, total)
    if sample is not None:
        return m, diffs, _sample_bits(words, sample), sample < 64 * num_words(extra) if extra else False, 0
    rep, flip = _candidates(m, nodes, sig)
    del sig
    for more, _ in rounds:  # cheap extra samples, for the candidates only
        _drop_refuted(sim, nodes, rep, flip, np.flatnonzero(rep >= 0), more)

    def refute(after: int, patterns: np.ndarray) -> None:
        pending = np.flatnonzero(rep[after + 1:] >= 0) + after + 1
        _drop_refuted(sim, nodes, rep, flip, pending, pack_samples(patterns))

    fraig, lit_of, undecided = _fraig(m, nodes[f0[nodes] != 0], rep, flip, conflicts, refute, found,
                                      max_undecided)
    return fraig, sorted({lit_of[d >> 1] ^ (d & 1) for d in diffs} - {0}), None, False, undecided


def _sat(a: Circuit, b: Circuit, iface: _Interface, conflict_budget: int | None,
         seed: int = 0) -> EquivResult:
    miter = _build_miter(a, b, iface)
    n = iface.num_inputs
    m, diffs = miter.circuit, sorted(set(miter.diffs) - {0})
    found: list[np.ndarray] = []  # counterexamples to internal candidates, re-simulated by every round
    for k, conflicts in enumerate(_ROUND_CONFLICTS):
        if conflict_budget is not None:
            conflicts = min(conflicts, conflict_budget)
        if not diffs:
            return EquivResult(True, "sat")  # every difference merged or was proved constant false
        if 1 in diffs:  # some output pair is complementary: any input distinguishes
            return _refutation(a, b, iface, np.zeros(n, dtype=np.uint8), "sat")
        m, diffs, bits, guided, undecided = _sweep_round(m, diffs, n, conflicts, seed + k, found,
                                                            max(1, _LATER_ROUND_CONFLICTS // conflicts) if k else 1 << 62)
        if bits is not None:
            return _refutation(a, b, iface, bits, "sat" if guided or k else "simulation")
        if not undecided:
            break  # a further round with a larger budget would ask nothing new
    if not diffs:
        return EquivResult(True, "sat")
    if 1 in diffs:
        return _refutation(a, b, iface, np.zeros(n, dtype=np.uint8), "sat")
    solver = ConeSolver(m, conflict_budget, capacity=2 * m.num_nodes + 2, learn=True)
    try:
        for d in diffs:  # is each remaining difference constant false?
            verdict, cex = solver.check(d, 0)
            if verdict == DIFFERENT:
                bits = np.zeros(n, dtype=np.uint8)
                for v, value in cex.items():
                    bits[v - 1] = value
                return _refutation(a, b, iface, bits, "sat")
            if verdict == UNKNOWN:
                raise EquivalenceError(
                    f"equivalence undecided: the SAT solver gave up after its budget of "
                    f"{conflict_budget} conflicts; raise conflict_budget or pass None"
                )
    finally:
        solver.close()
    return EquivResult(True, "sat")


def sat_equivalence(a: Circuit | NandNetlist, b: Circuit | NandNetlist,
                    conflict_budget: int | None = None, seed: int = 0) -> EquivResult:
    """Decide equivalence with a SAT miter, swept for internal equivalences first.

    ``seed`` draws the random samples that suggest internal equivalences
    (if one of them already distinguishes the outputs, the result's
    ``method`` is ``"simulation"``).  ``conflict_budget`` bounds the final
    query (and every internal one, which otherwise has a small budget of its own).  Requires: matching interfaces.  Ensures: a proof either way, or
    :class:`EquivalenceError` if ``conflict_budget`` conflicts were not enough.
    """
    _check_options(1, conflict_budget)
    return _sat(*_prepare(a, b), conflict_budget, seed)


# ---------------------------------------------------------------------- dispatch
def _auto(a: Circuit, b: Circuit, iface: _Interface, samples: int, seed: int,
          conflict_budget: int | None) -> EquivResult:
    if iface.num_inputs <= AUTO_EXHAUSTIVE_INPUTS:
        return _exhaustive(a, b, iface)
    found = _simulation(a, b, iface, samples, seed)
    if not found:
        return found
    return _sat(a, b, iface, conflict_budget, seed)


_METHODS: dict[str, Callable[[Circuit, Circuit, _Interface, int, int, int | None], EquivResult]] = {
    "auto": _auto,
    "exhaustive": lambda a, b, iface, samples, seed, budget: _exhaustive(a, b, iface),
    "simulation": lambda a, b, iface, samples, seed, budget: _simulation(a, b, iface, samples, seed),
    "sat": lambda a, b, iface, samples, seed, budget: _sat(a, b, iface, budget, seed),
}


def check_equivalence(a: Circuit | NandNetlist, b: Circuit | NandNetlist, method: str = "auto",
                      samples: int = 4096, seed: int = 0,
                      conflict_budget: int | None = None, match: str = "names") -> EquivResult:
    """Whether ``a`` and ``b`` compute the same function on every output bit.

    ``method`` is ``"auto"`` (exhaustive up to :data:`AUTO_EXHAUSTIVE_INPUTS`
    inputs, else ``samples`` random samples then SAT), ``"exhaustive"``,
    ``"simulation"`` or ``"sat"``.  Requires: the same input and output bus
    names with the same widths (else :class:`EquivalenceError` naming the
    buses that differ); with ``match="order"`` instead, the same number of
    inputs and of output bits, matched by position (input ``k`` of each in
    creation order, i.e. file order; the counterexample is then one bus
    ``in``).  Ensures: a counterexample, when returned, really distinguishes
    ``a`` and ``b``.
    """
    run = _METHODS.get(method)
    if run is None:
        raise EquivalenceError(
            f"unknown equivalence method {method!r}; expected one of {', '.join(_METHODS)}"
        )
    _check_options(samples, conflict_budget)
    return run(*_prepare(a, b, match), samples, seed, conflict_budget)
