"""Bit-parallel simulation of every node of a circuit, for the optimization passes.

:mod:`nandc.ir.evaluate` computes *outputs*; the passes need the value of
*every* node under many input patterns (64 per ``uint64`` word) to guess which
nodes are equivalent or constant.  Nodes are grouped by logic level once
(:class:`LevelPlan`), so one level costs a handful of numpy gathers whatever
its width.

Patterns are random words of mixed densities (:func:`random_patterns`): a
popcount threshold of 256 inputs is almost never reached by fair coin flips,
so some words set a bit with probability 1/32, 1/8, 7/8 or 31/32.

A :class:`PatternPool` remembers the counterexamples SAT found in one pass
for the passes after it, which simulate them along with their random words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from nandc.ir.circuit import Circuit
from nandc.synth.compiled import use_compiled

__all__ = [
    "ALL_ONES",
    "LevelPlan",
    "POOL_PATTERNS",
    "PatternPool",
    "level_plan",
    "random_patterns",
    "simulate_nodes",
    "signature_keys",
    "signatures",
]

ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)

# probability of a 1 in each successive pattern word (cycled)
_DENSITIES = (0.5, 0.5, 0.5, 0.5, 0.125, 0.875, 0.03125, 0.96875,
              0.5, 0.5, 0.25, 0.75, 0.0625, 0.9375, 0.5, 0.5)


#: Patterns a :class:`PatternPool` keeps (the newest): four words.
POOL_PATTERNS = 256


class PatternPool:
    """Counterexamples remembered across the passes of one pipeline run.

    A SAT sweep disproves a candidate pair with an input pattern on which the
    two nodes differ.  The passes after it keep the circuit's inputs, in order,
    and most of its functions, so the same pattern tells the same functions
    apart there too: a later sweep simulates the pool's patterns along with its
    random ones and does not send those pairs to SAT again (the loops of
    ``-O3`` sweep the same look-alikes after every rewrite; on
    ``ternary_mlp.fc1.absmax`` 55-64 of them per sweep, each a failed proof
    that also barred its class from further merges).

    Keeps the newest ``capacity`` patterns; a circuit with another number of
    inputs empties it.
    """

    def __init__(self, capacity: int = POOL_PATTERNS):
        self.capacity = capacity
        self.num_inputs = -1
        self._rows: list[np.ndarray] = []  # one bool vector per pattern, oldest first

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, num_inputs: int, patterns: Iterable[Mapping[int, bool]]) -> None:
        """Remember ``patterns``, each ``{input position: value}`` (positions it leaves out are 0),
        for circuits of ``num_inputs`` inputs."""
        if num_inputs != self.num_inputs:
            self.num_inputs, self._rows = num_inputs, []
        for pattern in list(patterns)[-self.capacity:] if self.capacity else []:  # (older ones would go)
            row = np.zeros(num_inputs, dtype=bool)
            if pattern:
                positions, values = zip(*pattern.items())
                row[list(positions)] = values
            self._rows.append(row)
        del self._rows[: max(0, len(self._rows) - self.capacity)]

    def words(self, num_inputs: int) -> np.ndarray:
        """``(num_inputs, k)`` uint64 words holding every kept pattern once (the unused bits of
        the last word repeat the first patterns); ``k == 0`` when none was kept for
        ``num_inputs`` inputs."""
        if num_inputs != self.num_inputs or not self._rows:
            return np.zeros((num_inputs, 0), dtype=np.uint64)
        k = -(-len(self._rows) // 64)
        rows = np.resize(np.array(self._rows, dtype=np.uint64).reshape(len(self._rows), num_inputs),
                         (64 * k, num_inputs))
        shifted = rows.reshape(k, 64, num_inputs) << np.arange(64, dtype=np.uint64)[None, :, None]
        return np.bitwise_or.reduce(shifted, axis=1).T.copy()


@dataclass(frozen=True)
class LevelPlan:
    """The AND nodes of a circuit grouped by level, with their fanin literals.

    ``inputs`` lists the input nodes in :meth:`Circuit.input_literals` order
    (bus by bus), which every copy made by ``copy_interface`` shares.
    ``groups[k]`` holds the nodes of level ``k + 1`` (int64 arrays);
    ``fanins[k]`` the matching ``(f0, f1)`` literal arrays.
    """

    num_nodes: int
    inputs: np.ndarray
    groups: tuple[np.ndarray, ...]
    fanins: tuple[tuple[np.ndarray, np.ndarray], ...]


def level_plan(circuit: Circuit, nodes: np.ndarray | None = None) -> LevelPlan:
    """The level grouping of ``nodes`` (default: every AND node).

    Requires: ``nodes`` closed under fanins among AND nodes (e.g. a cone).
    """
    f0, f1, _ = circuit.arrays()
    lev = circuit.levels()
    if nodes is None:
        nodes = np.flatnonzero(f0)
    nodes = np.asarray(nodes, dtype=np.int64)
    nodes = nodes[f0[nodes] != 0]
    order = nodes[np.argsort(lev[nodes], kind="stable")]
    bounds = np.flatnonzero(np.diff(lev[order])) + 1
    groups = tuple(g for g in np.split(order, bounds) if len(g))
    fanins = tuple((f0[g], f1[g]) for g in groups)
    inputs = np.array([lit >> 1 for lit in circuit.input_literals()], dtype=np.int64)
    return LevelPlan(circuit.num_nodes, inputs, groups, fanins)


def random_patterns(num_inputs: int, words: int, rng: np.random.Generator) -> np.ndarray:
    """``(num_inputs, words)`` uint64 random patterns; word ``w`` has density ``_DENSITIES[w % 16]``."""
    out = np.empty((num_inputs, words), dtype=np.uint64)
    shifts = np.arange(64, dtype=np.uint64)
    for w in range(words):
        p = _DENSITIES[w % len(_DENSITIES)]
        if p == 0.5:
            out[:, w] = rng.integers(0, 1 << 64, size=num_inputs, dtype=np.uint64, endpoint=False)
        else:
            bits = (rng.random((num_inputs, 64)) < p).astype(np.uint64)
            out[:, w] = np.bitwise_or.reduce(bits << shifts, axis=1)
    return out


def _complement_mask(lits: np.ndarray) -> np.ndarray:
    return ((lits & 1).astype(np.uint64) * ALL_ONES)[:, None]


def simulate_nodes(plan: LevelPlan, input_words: np.ndarray) -> np.ndarray:
    """Values of every node, ``(num_nodes, words)`` uint64, for the given input patterns.

    ``input_words[i]`` drives ``plan.inputs[i]``.  Nodes outside the plan
    (other than inputs) are left 0.
    """
    words = input_words.shape[1]
    vals = np.zeros((plan.num_nodes, words), dtype=np.uint64)
    vals[plan.inputs] = input_words
    for g, (a, b) in zip(plan.groups, plan.fanins):
        va = vals[a >> 1]
        va ^= _complement_mask(a)
        vb = vals[b >> 1]
        vb ^= _complement_mask(b)
        va &= vb
        vals[g] = va
    return vals


def _key_multipliers(words: int, seed: int) -> np.ndarray:
    """The odd word multipliers of :func:`signature_keys`' hash."""
    mult = np.random.default_rng(seed).integers(1, 1 << 63, size=words, dtype=np.uint64)
    mult |= np.uint64(1)
    return mult


def signatures(circuit: Circuit, nodes: np.ndarray, input_words: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs, keys, phase)``: the input nodes in :meth:`Circuit.input_literals` order, and
    :func:`signature_keys` of :func:`simulate_nodes` over the AND nodes of ``nodes`` (closed under
    fanins among AND nodes, e.g. the live nodes), ``input_words[i]`` driving ``inputs[i]``.  By one
    compiled loop in node order (:func:`nandc.synth.kernels.signature_arrays`: the same keys) where
    the engines use their compiled loops."""
    if use_compiled(circuit.num_ands):
        from nandc.synth import kernels

        f0, f1, _ = circuit.arrays()
        inputs = np.array([lit >> 1 for lit in circuit.input_literals()], dtype=np.int64)
        keys, phase = kernels.signature_arrays(nodes, f0, f1, inputs, input_words,
                                               _key_multipliers(input_words.shape[1], 0x5EED))
        return inputs, keys, phase
    plan = level_plan(circuit, nodes)
    keys, phase = signature_keys(simulate_nodes(plan, input_words))
    return plan.inputs, keys, phase


def signature_keys(vals: np.ndarray, seed: int = 0x5EED) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, phase)``: a 64-bit hash of each node's values up to complement.

    ``phase[n]`` is the node's value under the first pattern; values are
    complemented where ``phase`` is 1 before hashing, so a node and its
    complement share a key.  Nodes constant over all patterns get key 0 (and
    only they do).
    """
    phase = (vals[:, 0] & np.uint64(1)).astype(np.int64)
    norm = vals ^ (phase.astype(np.uint64) * ALL_ONES)[:, None]
    mult = _key_multipliers(vals.shape[1], seed)
    with np.errstate(over="ignore"):
        keys = (norm * mult).sum(axis=1, dtype=np.uint64)
        keys = (keys ^ (keys >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    keys |= np.uint64(1)
    keys[~norm.any(axis=1)] = 0
    return keys, phase
