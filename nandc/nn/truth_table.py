"""Learning Boolean functions from their truth tables with soft NAND gates, with a proof.

:func:`learn_truth_table` trains a small :class:`~nandc.nn.soft.SoftNAND`
network on every row of a :class:`TruthTable` (bit cross-entropy), hardens
it, compiles it, and proves the NAND netlist equal to the table by
exhaustive equivalence against a circuit built from the table itself
(:func:`prove_truth_table`).  Training restarts from a new seed, up to
``attempts`` times, until the proof succeeds.

Row ``r`` of a table assigns input ``i`` the bit ``(r >> i) & 1``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from nandc.ir import words
from nandc.ir.circuit import Circuit
from nandc.ir.words import Word
from nandc.nn.anneal import AnnealConfig, anneal_fit
from nandc.nn.gates import LogicConfigError
from nandc.nn.networks import soft_nand_network
from nandc.nn.schedules import ExponentialSchedule

__all__ = ["TruthTable", "truth_table", "XOR", "FULL_ADDER", "DEFAULT_WIDTHS", "prove_truth_table",
           "logic_gate_count", "TruthTableFit", "learn_truth_table", "TRUTH_TABLE_TRAINING"]

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


def _spec_circuit(table: TruthTable, like) -> Circuit:
    """The table as a circuit with the interface of the compiled netlist ``like``.

    Input bus ``x``: one bit per input.  Output ``logits``: each output bit
    as a signed word (the bit, then zeros), as the frontend's head emits a
    Boolean output; ``class`` (present when there are several outputs): the
    index of the first maximal bit, :func:`nandc.ir.words.argmax`.
    """
    c = Circuit(f"{table.name}_spec")
    (in_name, in_bus), = like.input_buses.items()
    x = c.add_input_bus(in_name, in_bus.shape, in_bus.signed)
    minterms = [c.and_many(x[i] if (r >> i) & 1 else x[i] ^ 1 for i in range(table.inputs))
                for r in range(1 << table.inputs)]
    bits = [c.or_many(m for m, row in zip(minterms, table.outputs) if row[k]) for k in range(table.num_outputs)]
    logits = like.output_buses["logits"]
    width = logits.word_width
    c.set_output("logits", [lit for b in bits for lit in (b,) + (0,) * (width - 1)], logits.shape, logits.signed)
    if "class" in like.output_buses:
        idx = words.argmax(c, [Word((b,) + (0,) * (width - 1), True) for b in bits])
        c.set_output("class", idx.bits, like.output_buses["class"].shape)
    return c


def prove_truth_table(compiled, table: TruthTable):
    """Exhaustive equivalence of a compiled model's netlist with ``table``: an EquivResult, a proof either way."""
    from nandc.synth.equiv import exhaustive_equivalence

    net = compiled.netlist
    bus = next(iter(net.input_buses.values()))
    logits = net.output_buses.get("logits")
    if bus.width != table.inputs or logits is None or logits.shape[:-1] != (table.num_outputs,):
        raise LogicConfigError(
            f"the compiled model reads {bus.width} input bits and has outputs "
            f"{None if logits is None else logits.shape[:-1]}; table {table.name!r} has "
            f"{table.inputs} inputs and {table.num_outputs} outputs"
        )
    return exhaustive_equivalence(_spec_circuit(table, net), net)


def logic_gate_count(compiled, layers: Sequence[str] | None = None) -> int:
    """NAND2 gates of a compiled model in the named ``layers`` (default: all but the head and argmax)."""
    from nandc.frontend import ARGMAX_LAYER, HEAD_LAYER

    counts = compiled.netlist.layer_counts()
    if layers is None:
        layers = [name for name in counts if name not in (HEAD_LAYER, ARGMAX_LAYER)]
    return sum(counts.get(name, 0) for name in layers)


#: training defaults for truth tables: full batch, gate temperature 0.2 -> 0.03, fixed wiring temperature
TRUTH_TABLE_TRAINING = AnnealConfig(
    epochs=250, lr=0.2, batch_size=1 << MAX_INPUTS, tau=ExponentialSchedule(0.2, 0.03, 250),
    loss="bit_cross_entropy",
)


@dataclass(frozen=True)
class TruthTableFit:
    """A learned, hardened and compiled truth table; ``proof.equivalent`` says whether it is exact."""

    table: TruthTable
    model: object
    compiled: object
    proof: object  # nandc.synth.equiv.EquivResult
    attempts: int
    gates: int
    seconds: float


def learn_truth_table(table: TruthTable, widths: Sequence[int] = DEFAULT_WIDTHS,
                      config: AnnealConfig = TRUTH_TABLE_TRAINING, attempts: int = 5, seed: int = 0,
                      passes: str = "O1") -> TruthTableFit:
    """Train soft NAND networks on ``table`` until one hardens to an exact circuit.

    Each attempt ``k`` (``0 <= k < attempts``) trains
    ``soft_nand_network(..., seed=seed + k)`` with ``config`` (its loss is
    forced to bit cross-entropy), hardens and compiles it, and proves it
    against the table.  Ensures: the returned fit is the first exact one, or
    the last attempt (``proof.equivalent`` False) when none was exact.
    """
    import torch

    import nandc
    from nandc.nn.harden import harden

    if attempts < 1:
        raise LogicConfigError(f"learn_truth_table: attempts must be at least 1, found {attempts}")
    config = replace(config, loss="bit_cross_entropy")
    x, y = table.input_rows(), table.target_rows()
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more intra-op threads only add overhead
    try:
        for k in range(attempts):
            model = soft_nand_network(table.inputs, table.num_outputs, widths, seed=seed + k)
            anneal_fit(model, x, y, replace(config, seed=seed + k))
            hard = harden(model)
            compiled = nandc.compile(hard, torch.from_numpy(x[:1]), passes=passes)
            proof = prove_truth_table(compiled, table)
            if proof.equivalent or k == attempts - 1:
                return TruthTableFit(table, hard, compiled, proof, k + 1, logic_gate_count(compiled),
                                     time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    raise AssertionError("unreachable")  # pragma: no cover
