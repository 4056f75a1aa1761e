"""The NAND2 cost of an AIG: what :func:`~nandc.passes.nand.lower_to_nand` will produce.

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

import numpy as np

from nandc.ir.circuit import Circuit

__all__ = ["PhaseUse", "phase_use", "nand_cost"]


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
    """NAND2 gates the direct lowering of ``circuit`` produces (inverters included)."""
    if use is None:
        use = phase_use(circuit)
    f0, _, _ = circuit.arrays()
    is_and = f0 != 0
    is_and[0] = False
    is_input = ~is_and
    is_input[0] = False
    ands = int((use.live & is_and).sum())
    inverters = int(((use.pos > 0) & is_and).sum() + ((use.neg > 0) & is_input).sum())
    return ands + inverters
