"""Soft-NAND network on MNIST-5k: anneal, harden, compile to NAND2 gates, verify on every sample.

    python examples/soft_nand_mnist.py                                  # 2 layers of 1000 NAND gates
    python examples/soft_nand_mnist.py --widths 2000,2000 --epochs 30
    python examples/soft_nand_mnist.py --gate logic --candidates 1 --widths 4000,4000  # difflogic-style
    python examples/soft_nand_mnist.py --dataset digits --widths 100,50 --epochs 2

Each gate of a SoftNAND layer learns which two signals it reads (with
``--gate logic`` also which of the 16 two-input functions it computes); the
gate temperature is annealed (exponential 0.2 -> 0.05 by default) and the
last epochs run straight-through (forward = the hardened network).  Then
``nandc.nn.harden`` turns every gate into an exact NAND, a ``GroupSum`` head
counts ones per class, and the compiled netlist's logits and classes equal
the hardened torch model's on every test sample.
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple


class SoftNandOutcome(NamedTuple):
    """What one run measured; ``mismatches`` must be 0 and ``logits_identical`` True (the contract)."""

    compiled: object
    soft_accuracy: float
    hard_accuracy: float
    circuit_accuracy: float
    mismatches: int
    logits_identical: bool
    nand2_gates: int
    logic_gates: int  # in the hardened gate layers (the rest: GroupSum popcounts, argmax)
    train_seconds: float
    compile_seconds: float


def parse_args(argv):
    from nandc.lab.datasets import DATASETS
    from nandc.nn.networks import GATE_KINDS
    from nandc.nn.schedules import SCHEDULES

    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--dataset", default="mnist5k", choices=sorted(DATASETS), help="default: mnist5k")
    p.add_argument("--limit", type=int, default=None, help="use only this many samples of the dataset")
    p.add_argument("--gate", default="nand", choices=sorted(GATE_KINDS), help="SoftNAND or LogicLayer (default: nand)")
    p.add_argument("--widths", default="1000,1000", help="gates per layer; the last is a multiple of 10 "
                                                          "(default: 1000,1000)")
    p.add_argument("--candidates", default="all",
                   help="inputs each gate pin may choose from: all, or a number (1 = fixed random wiring, "
                        "as in difflogic; default: all)")
    p.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (default: 0.05)")
    p.add_argument("--schedule", default="exponential", choices=sorted(SCHEDULES),
                   help="gate temperature schedule (default: exponential)")
    p.add_argument("--tau", default="0.2,0.05", help="gate temperature start,end (default: 0.2,0.05)")
    p.add_argument("--select-tau", default="1.0,0.1", help="wiring temperature start,end (default: 1.0,0.1)")
    p.add_argument("--penalty", type=float, default=0.0, help="weight of the sum y(1-y) penalty (default: 0)")
    p.add_argument("--hard-epochs", type=int, default=None,
                   help="last epochs trained straight-through (default: a quarter of the epochs)")
    p.add_argument("--group-tau", type=float, default=None,
                   help="GroupSum temperature (default: sqrt(gates per class) / 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-O", dest="opt", default="3", choices=("0", "1", "2", "3"),
                   help="optimization level (default: 3)")
    p.add_argument("--backend", default="jit", choices=("jit", "reference"), help="netlist runner (default: jit)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or output")
    return p.parse_args(argv)


def _pair(text: str) -> tuple[float, float]:
    start, end = (float(v) for v in text.split(","))
    return start, end


def build(args, ds):
    """The soft model and its training configuration."""
    from nandc.nn.anneal import AnnealConfig
    from nandc.nn.networks import logic_classifier
    from nandc.nn.schedules import make_schedule

    widths = tuple(int(w) for w in args.widths.split(","))
    group_tau = args.group_tau or max(1.0, (widths[-1] / ds.classes) ** 0.5 / 2)
    tau0, tau1 = _pair(args.tau)
    candidates = None if args.candidates == "all" else int(args.candidates)
    model = logic_classifier(ds.x_train[0].size, widths, ds.classes, gate=args.gate, group_tau=group_tau,
                             seed=args.seed, tau=tau0, candidates=candidates)
    hard_epochs = args.epochs // 4 if args.hard_epochs is None else args.hard_epochs
    config = AnnealConfig(epochs=args.epochs, lr=args.lr, tau=make_schedule(args.schedule, tau0, tau1, args.epochs),
                          select_tau=make_schedule(args.schedule, *_pair(args.select_tau), args.epochs),
                          penalty=args.penalty, hard_epochs=hard_epochs, seed=args.seed)
    return model, config


def gate_layers(model) -> list[str]:
    """Names of the hardened gate layers of ``model``."""
    from nandc.nn.hard_logic import BooleanLayer

    return [name for name, m in model.named_modules() if isinstance(m, BooleanLayer)]


def main(argv=None) -> SoftNandOutcome:
    args = parse_args(argv)

    import numpy as np
    import torch

    import nandc
    from nandc.backends.report import format_text
    from nandc.lab.datasets import DATASETS
    from nandc.nn.anneal import anneal_fit
    from nandc.nn.harden import harden
    from nandc.lab.experiment import logic_gate_count
    from nandc.nn.training import accuracy, torch_predict

    echo = (lambda *a: None) if args.quiet else print
    ds = DATASETS[args.dataset](limit=args.limit, seed=args.seed)
    model, config = build(args, ds)
    fitted = anneal_fit(model, ds.x_train, ds.y_train, config, progress=not args.quiet)
    echo(f"trained {config.epochs} epoch(s) on {len(ds.x_train)} samples in {fitted.seconds:.1f} s "
         f"(final gate temperature {fitted.tau:.3g})")
    soft_acc = accuracy(torch_predict(model, ds.x_test).argmax(1).numpy(), ds.y_test)
    hard = harden(model)
    reference = torch_predict(hard, ds.x_test)
    torch_classes = reference.argmax(1).numpy()
    hard_acc = accuracy(torch_classes, ds.y_test)
    echo(f"test accuracy: soft {soft_acc:.2%}, hardened {hard_acc:.2%}")

    t0 = time.perf_counter()
    compiled = nandc.compile(hard, torch.from_numpy(ds.x_test[:1]), passes=f"O{args.opt}")
    compile_s = time.perf_counter() - t0
    result = compiled.run(ds.x_test, backend=args.backend)
    mismatches = int(np.sum(result["class"] != torch_classes))
    same_logits = bool(torch.equal(compiled.to_torch_output(result["logits"]), reference))
    outcome = SoftNandOutcome(compiled, soft_acc, hard_acc, accuracy(result["class"], ds.y_test), mismatches,
                              same_logits, compiled.num_gates, logic_gate_count(compiled, gate_layers(hard)),
                              fitted.seconds, compile_s)
    echo(f"compiled to {outcome.nand2_gates} NAND2 gates ({outcome.logic_gates} in the gate layers, the rest "
         f"in the class counts and argmax) in {compile_s:.1f} s with -O{args.opt}")
    echo(f"NAND netlist: accuracy {outcome.circuit_accuracy:.2%}, predictions equal to the hardened "
         f"model's: {len(torch_classes) - mismatches}/{len(torch_classes)}, logits identical: {same_logits}")
    echo(format_text(compiled.report()))
    return outcome


if __name__ == "__main__":
    main()
