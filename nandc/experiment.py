"""Train -> compile -> run -> compare: the loop the demo and the examples share."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Outcome", "train_compile_verify"]


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
    from nandc.training import accuracy, fit, torch_predict

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
