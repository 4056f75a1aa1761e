"""Convolutional logic-gate network on MNIST-5k: train, harden, compile to staged NAND2 kernels, verify.

    python examples/conv_logic_mnist.py                                   # default: a few minutes on a CPU
    python examples/conv_logic_mnist.py --channels 32,64 --dense 8000,8000 --epochs 30
    python examples/conv_logic_mnist.py --dataset digits --channels 4,8 --dense 60 --epochs 1   # seconds

The model (``nandc.lab.zoo.conv_logic_mnist``, after Petersen et al. 2024) turns
each pixel into bits at a few thresholds, then runs blocks of a
``LogicConv2d`` -- every output channel is a tree of learned two-input gates
over a 3x3 receptive field of two input channels, slid over the image like a
convolution -- and a 2x2 ``OrPool2d``; flattened, a layer of learned gates
with fixed random wiring and a ``GroupSum`` class-count head follow.  It is
trained soft (the last epochs straight-through) by ``anneal_fit``, then
hardened.  ``nandc.compile(..., staged=True)`` builds each logic
convolution ONCE for one output position (a window kernel run over every
position), turns OR pooling into data movement on bits, and the compiled
program's logits and classes equal the hardened torch model's on every test
sample.  The script prints NAND2 gates per stage and the gate evaluations
per image.
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple


class StageFigures(NamedTuple):
    """One kernel of the compiled program: NAND2 gates of its netlist, positions per image."""

    name: str
    nand2: int
    positions: int

    @property
    def evaluations(self) -> int:
        return self.nand2 * self.positions


class ConvLogicOutcome(NamedTuple):
    """What one run measured; ``mismatches`` must be 0 and ``logits_identical`` True (the contract)."""

    compiled: object
    eval_accuracy: float  # the trained model in eval mode (conv layers hard, dense layer soft)
    hard_accuracy: float  # the hardened model, what is compiled
    circuit_accuracy: float
    mismatches: int
    logits_identical: bool
    stages: tuple[StageFigures, ...]
    nand2_gates: int
    gate_evaluations: int
    train_seconds: float
    compile_seconds: float


def parse_args(argv):
    from nandc.lab.datasets import DATASETS

    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--dataset", default="mnist5k", choices=sorted(DATASETS), help="default: mnist5k (28x28)")
    p.add_argument("--limit", type=int, default=None, help="use only this many samples of the dataset")
    p.add_argument("--thresholds", default="0.25,0.5,0.75", help="pixel thresholds, one channel each "
                                                                  "(default: 0.25,0.5,0.75)")
    p.add_argument("--channels", default="16,32", help="output channels of each LogicConv2d + OrPool2d block "
                                                        "(default: 16,32)")
    p.add_argument("--depth", type=int, default=3, help="levels of each gate tree (default: 3, 7 gates)")
    p.add_argument("--dense", default="4000,4000", help="widths of the learned-gate layers after the convolutions, "
                                                         "the last a multiple of 10; empty for none "
                                                         "(default: 4000,4000)")
    p.add_argument("--residual", type=float, default=2.0,
                   help="initial logit bonus of the pass-through gate in the trees (default: 2)")
    p.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    p.add_argument("--hard-epochs", type=int, default=None,
                   help="last epochs trained straight-through (default: a fifth of the epochs)")
    p.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (default: 0.05)")
    p.add_argument("--batch-size", type=int, default=100, help="default: 100")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-O", dest="opt", default="2", choices=("0", "1", "2", "3"),
                   help="optimization level of every kernel (default: 2)")
    p.add_argument("--backend", default="jit", choices=("jit", "reference"), help="netlist runner (default: jit)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads for training (default: 1; small batches gain little from more)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or output")
    return p.parse_args(argv)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def build(args, ds):
    """The soft model and its training configuration."""
    from nandc.lab import zoo
    from nandc.nn.anneal import AnnealConfig

    c, h, _ = ds.shape
    model = zoo.conv_logic_mnist(c, h, tuple(float(t) for t in args.thresholds.split(",")), _ints(args.channels),
                                 args.depth, _ints(args.dense), ds.classes, residual=args.residual, seed=args.seed)
    hard_epochs = args.epochs // 5 if args.hard_epochs is None else args.hard_epochs
    config = AnnealConfig(epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, hard_epochs=hard_epochs,
                          seed=args.seed)
    return model, config


def stage_figures(compiled) -> tuple[StageFigures, ...]:
    """NAND2 gates and positions per image of every kernel of a staged program, in execution order."""
    program = compiled.program
    return tuple(StageFigures(program.stages[op.stage].name.split(".", 1)[-1],
                              program.stages[op.stage].netlist.num_gates, program.positions(op))
                 for op in program.kernels)


def main(argv=None) -> ConvLogicOutcome:
    args = parse_args(argv)

    import torch

    echo = (lambda *a: None) if args.quiet else print
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, args.threads))
    try:
        return _run(args, echo)
    finally:
        torch.set_num_threads(threads)


def _run(args, echo) -> ConvLogicOutcome:
    import numpy as np
    import torch

    import nandc
    from nandc.lab.datasets import DATASETS
    from nandc.nn.anneal import anneal_fit
    from nandc.nn.harden import harden
    from nandc.nn.training import accuracy, torch_predict

    ds = DATASETS[args.dataset](limit=args.limit, seed=args.seed, image=True)
    model, config = build(args, ds)
    fitted = anneal_fit(model, ds.x_train, ds.y_train, config, progress=not args.quiet)
    echo(f"trained {config.epochs} epoch(s) on {len(ds.x_train)} images {ds.shape} in {fitted.seconds:.1f} s")
    eval_acc = accuracy(torch_predict(model, ds.x_test).argmax(1).numpy(), ds.y_test)
    hard = harden(model)
    reference = torch_predict(hard, ds.x_test)
    torch_classes = reference.argmax(1).numpy()
    hard_acc = accuracy(torch_classes, ds.y_test)
    echo(f"test accuracy: eval mode {eval_acc:.2%}, hardened {hard_acc:.2%} ({len(ds.x_test)} test images)")

    t0 = time.perf_counter()
    compiled = nandc.compile(hard, torch.from_numpy(ds.x_test[:1]), passes=f"O{args.opt}", staged=True)
    compile_s = time.perf_counter() - t0
    result = compiled.run(ds.x_test, backend=args.backend)
    mismatches = int(np.sum(result["class"] != torch_classes))
    same_logits = bool(torch.equal(compiled.to_torch_output(result["logits"]), reference))
    stages = stage_figures(compiled)
    outcome = ConvLogicOutcome(compiled, eval_acc, hard_acc, accuracy(result["class"], ds.y_test), mismatches,
                               same_logits, stages, compiled.num_gates, compiled.gate_evaluations, fitted.seconds,
                               compile_s)
    echo(f"compiled to {len(compiled.program.stages)} kernels, {outcome.nand2_gates} NAND2 gates in all, in "
         f"{compile_s:.1f} s with -O{args.opt}")
    echo(f"{'kernel':<12} {'NAND2':>8} {'positions':>10} {'evaluations':>12}")
    for s in stages:
        echo(f"{s.name:<12} {s.nand2:>8} {s.positions:>10} {s.evaluations:>12}")
    echo(f"NAND2 gate evaluations per image: {outcome.gate_evaluations}")
    echo(f"compiled program: accuracy {outcome.circuit_accuracy:.2%}, predictions equal to the hardened "
         f"model's: {len(torch_classes) - mismatches}/{len(torch_classes)}, logits identical: {same_logits}")
    return outcome


if __name__ == "__main__":
    main()
