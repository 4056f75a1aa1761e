"""Train -> compile -> run -> compare: the loop the demo and the examples share.

Also the same loop for Boolean functions: :func:`learn_truth_table` trains a
small :class:`~nandc.nn.soft_logic.SoftNAND` network on every row of a
:class:`~nandc.nn.truth_table.TruthTable` (bit cross-entropy), hardens it,
compiles it, and proves the NAND netlist equal to the table by exhaustive
equivalence against a circuit built from the table itself
(:func:`prove_truth_table`); training restarts from a new seed, up to
``attempts`` times, until the proof succeeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

if TYPE_CHECKING:  # annotations only: nandc.nn imports torch
    from nandc.nn.truth_table import TruthTable

import numpy as np

__all__ = ["Outcome", "train_compile_verify", "prove_truth_table", "logic_gate_count", "TruthTableFit",
           "learn_truth_table"]


@dataclass(frozen=True)
class Outcome:
    """What one experiment measured; ``mismatches`` must be 0 (the contract)."""

    compiled: object
    torch_accuracy: float
    circuit_accuracy: float
    mismatches: int
    logits_identical: bool
    samples: int
    train_seconds: float
    compile_seconds: float
    run_seconds: float


def train_compile_verify(model, ds, epochs: int, lr: float = 1e-2, passes: str = "O2",
                         backend: str = "jit", seed: int = 0, progress: bool = True,
                         echo: Callable[[str], None] = print) -> Outcome:
    """Train ``model`` on ``ds``, compile it, run it on the test set and compare with torch."""
    import torch

    import nandc
    from nandc.nn.training import accuracy, fit, torch_predict

    torch.manual_seed(seed)
    fitted = fit(model, ds.x_train, ds.y_train, epochs=epochs, lr=lr, seed=seed, progress=progress)
    echo(f"trained {epochs} epoch(s) on {len(ds.x_train)} samples in {fitted.seconds:.1f} s")
    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.from_numpy(ds.x_test[:1]), passes=passes, progress=progress)
    compile_s = time.perf_counter() - t0
    echo(f"compiled to {compiled.num_gates} NAND2 gates in {compile_s:.1f} s (pipeline {passes})")
    reference = torch_predict(model, ds.x_test)
    t0 = time.perf_counter()
    result = compiled.run(ds.x_test, backend=backend)
    run_s = time.perf_counter() - t0
    classes = result["class"]
    torch_classes = reference.argmax(1).numpy()
    mismatches = int(np.sum(classes != torch_classes))
    same_logits = bool(torch.equal(compiled.to_torch_output(result["logits"]), reference))
    echo(f"ran {len(classes)} test samples through the {backend} backend in {run_s * 1e3:.1f} ms")
    echo(f"predictions equal to torch's: {len(classes) - mismatches}/{len(classes)}; "
         f"logits identical: {same_logits}")
    out = Outcome(compiled, accuracy(torch_classes, ds.y_test), accuracy(classes, ds.y_test), mismatches,
                  same_logits, len(classes), fitted.seconds, compile_s, run_s)
    echo(f"test accuracy: torch {out.torch_accuracy:.2%}, NAND netlist {out.circuit_accuracy:.2%}")
    return out


def run_example(argv, doc: str, add_arguments: Callable, build: Callable, epochs: int) -> Outcome:
    """Command line shared by the example scripts.

    ``add_arguments(parser)`` adds the example's own options, ``build(args)``
    returns ``(model, dataset)``; ``--epochs``, ``-O`` and ``--quiet`` are common.
    """
    import argparse

    from nandc.backends.report import format_text

    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    add_arguments(parser)
    parser.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default: {epochs})")
    parser.add_argument("-O", dest="opt", default="2", choices=("0", "1", "2", "3"),
                        help="optimization level (default: 2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or output")
    args = parser.parse_args(argv)
    model, ds = build(args)
    echo = (lambda *a: None) if args.quiet else print
    outcome = train_compile_verify(model, ds, epochs=args.epochs, passes=f"O{args.opt}",
                                   progress=not args.quiet, echo=echo)
    echo(format_text(outcome.compiled.report()))
    return outcome


# ---------------------------------------------------------------------- truth tables
# torch-free at import: nandc.nn is imported inside the functions
from nandc.ir import words  # noqa: E402
from nandc.ir.circuit import Circuit  # noqa: E402
from nandc.ir.words import Word  # noqa: E402


def _spec_circuit(table: "TruthTable", like) -> Circuit:
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


def prove_truth_table(compiled, table: "TruthTable"):
    """Exhaustive equivalence of a compiled model's netlist with ``table``: an EquivResult, a proof either way."""
    from nandc.nn.gate_functions import LogicConfigError
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
    from nandc.interface import HEAD_LAYERS

    counts = compiled.netlist.layer_counts()
    if layers is None:
        layers = [name for name in counts if name not in HEAD_LAYERS]
    return sum(counts.get(name, 0) for name in layers)


@dataclass(frozen=True)
class TruthTableFit:
    """A learned, hardened and compiled truth table; ``proof.equivalent`` says whether it is exact."""

    table: "TruthTable"
    model: object
    compiled: object
    proof: object  # nandc.synth.equiv.EquivResult
    attempts: int
    gates: int
    seconds: float


TRAINERS = ("anneal", "admm")


def learn_truth_table(table: "TruthTable", widths: Sequence[int] | None = None,
                      config=None, attempts: int = 5, seed: int = 0,
                      passes: str = "O1", trainer: str = "anneal") -> TruthTableFit:
    """Train soft NAND networks on ``table`` until one hardens to an exact circuit.

    ``trainer`` is ``"anneal"`` (:func:`~nandc.nn.anneal.anneal_fit`; ``config``
    defaults to :data:`~nandc.nn.truth_table.TRUTH_TABLE_TRAINING`) or
    ``"admm"`` (:func:`~nandc.nn.admm.admm_fit`, slack variables; ``config``
    defaults to :data:`~nandc.nn.admm.TRUTH_TABLE_ADMM`).  ``widths``
    defaults to :data:`~nandc.nn.truth_table.DEFAULT_WIDTHS`.
    Each attempt ``k`` (``0 <= k < attempts``) trains
    ``soft_nand_network(..., seed=seed + k)`` with ``config`` (its loss is
    forced to bit cross-entropy), hardens and compiles it, and proves it
    against the table.  Ensures: the returned fit is the first exact one, or
    the last attempt (``proof.equivalent`` False) when none was exact.
    """
    import torch

    import nandc
    from nandc.nn.anneal import anneal_fit
    from nandc.nn.gate_functions import LogicConfigError
    from nandc.nn.harden import harden
    from nandc.nn.networks import soft_nand_network
    from nandc.nn.truth_table import DEFAULT_WIDTHS, TRUTH_TABLE_TRAINING

    if trainer == "admm":
        from nandc.nn.admm import TRUTH_TABLE_ADMM, admm_fit

        fit, default = admm_fit, TRUTH_TABLE_ADMM
    elif trainer == "anneal":
        fit, default = anneal_fit, TRUTH_TABLE_TRAINING
    else:
        raise LogicConfigError(f"learn_truth_table: trainer must be one of {TRAINERS}, found {trainer!r}")
    widths = DEFAULT_WIDTHS if widths is None else widths
    config = default if config is None else config

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
            fit(model, x, y, replace(config, seed=seed + k))
            hard = harden(model)
            compiled = nandc.compile(hard, torch.from_numpy(x[:1]), passes=passes)
            proof = prove_truth_table(compiled, table)
            if proof.equivalent or k == attempts - 1:
                return TruthTableFit(table, hard, compiled, proof, k + 1, logic_gate_count(compiled),
                                     time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    raise AssertionError("unreachable")  # pragma: no cover
