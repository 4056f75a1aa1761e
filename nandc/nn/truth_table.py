"""Truth tables of Boolean functions, and the training defaults for learning them with soft NAND gates.

Row ``r`` of a table assigns input ``i`` the bit ``(r >> i) & 1``.  Learning
a table, hardening, compiling and proving the result exact needs the
compiler, so it lives above it: :func:`nandc.lab.experiment.learn_truth_table`
and :func:`nandc.lab.experiment.prove_truth_table` (this module imports nothing
of the compiler).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from nandc.nn.anneal import AnnealConfig
from nandc.nn.gate_functions import LogicConfigError
from nandc.nn.schedules import ExponentialSchedule

__all__ = ["TruthTable", "truth_table", "XOR", "FULL_ADDER", "DEFAULT_WIDTHS", "TRUTH_TABLE_TRAINING", "MAX_INPUTS"]

#: the largest number of inputs a truth table may have (exhaustive proofs stay cheap)
MAX_INPUTS = 16


@dataclass(frozen=True)
class TruthTable:
    """``outputs[r]`` are the output bits for input row ``r`` (input ``i`` = bit ``i`` of ``r``)."""

    name: str
    inputs: int
    outputs: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        if not 1 <= self.inputs <= MAX_INPUTS:
            raise LogicConfigError(f"truth table {self.name!r}: inputs must be in 1..{MAX_INPUTS}, found {self.inputs}")
        if len(self.outputs) != 1 << self.inputs:
            raise LogicConfigError(
                f"truth table {self.name!r}: expected {1 << self.inputs} rows, found {len(self.outputs)}"
            )
        widths = {len(row) for row in self.outputs}
        if len(widths) != 1 or 0 in widths or not all(bit in (0, 1) for row in self.outputs for bit in row):
            raise LogicConfigError(
                f"truth table {self.name!r}: every row must hold the same positive number of 0/1 bits"
            )

    @property
    def num_outputs(self) -> int:
        return len(self.outputs[0])

    def input_rows(self) -> np.ndarray:
        """``(2**inputs, inputs)`` float32 0/1 matrix of every input assignment."""
        r = np.arange(1 << self.inputs)
        return ((r[:, None] >> np.arange(self.inputs)) & 1).astype(np.float32)

    def target_rows(self) -> np.ndarray:
        """``(2**inputs, outputs)`` float32 0/1 matrix of the table's outputs."""
        return np.asarray(self.outputs, dtype=np.float32)


def truth_table(name: str, inputs: int, fn: Callable[..., Sequence[int]]) -> TruthTable:
    """The table of ``fn(bit_0, ..., bit_{inputs-1}) -> output bits``."""
    rows = []
    for r in range(1 << inputs):
        rows.append(tuple(int(v) for v in fn(*((r >> i) & 1 for i in range(inputs)))))
    return TruthTable(name, inputs, tuple(rows))


XOR = truth_table("xor", 2, lambda a, b: (a ^ b,))
#: outputs (sum, carry) of ``a + b + cin``
FULL_ADDER = truth_table("full_adder", 3, lambda a, b, cin: ((a + b + cin) & 1, (a + b + cin) >> 1))


#: hidden layer widths of the default truth-table network (depth 8 with the output layer)
DEFAULT_WIDTHS = (16,) * 7


#: training defaults for truth tables: full batch, gate temperature 0.2 -> 0.03, fixed wiring temperature
TRUTH_TABLE_TRAINING = AnnealConfig(
    epochs=250, lr=0.2, batch_size=1 << MAX_INPUTS, tau=ExponentialSchedule(0.2, 0.03, 250),
    loss="bit_cross_entropy",
)
