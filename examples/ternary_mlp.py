"""BitNet b1.58 style ternary MLP on scikit-learn digits: train, compile, run, report.

    python examples/ternary_mlp.py
    python examples/ternary_mlp.py --hidden 32 --epochs 2

Ternary weights {-1, 0, +1} (absmean), int8 absmax activations per sample;
the circuit computes the exact integer sums and the per-sample int8
requantization (a divider per activation), bit for bit.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", default="64", help="hidden layer widths (default: 64)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--input-bits", type=int, default=2)
    p.add_argument("-O", dest="opt", default="2")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from nandc import datasets, zoo
    from nandc.backends.report import format_text
    from nandc.experiment import train_compile_verify

    ds = datasets.load_digits()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    model = zoo.ternary_mlp(64, hidden, ds.classes, input_bits=args.input_bits)
    echo = (lambda *a: None) if args.quiet else print
    outcome = train_compile_verify(model, ds, epochs=args.epochs, passes=f"O{args.opt}",
                                   progress=not args.quiet, echo=echo)
    echo(format_text(outcome.compiled.report()))
    return outcome


if __name__ == "__main__":
    main()
