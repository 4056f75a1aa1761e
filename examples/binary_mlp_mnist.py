"""Binary (XNOR-Net style) MLP on MNIST-5k: train, compile to NAND2 gates, run, report.

    python examples/binary_mlp_mnist.py                    # 784-256-256-10, 10 epochs
    python examples/binary_mlp_mnist.py --hidden 64 --epochs 2 --limit 1000

The compiled netlist's predictions equal the torch model's on every test sample.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", default="256,256", help="hidden layer widths (default: 256,256)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--limit", type=int, default=None, help="use only this many of the 5000 digits")
    p.add_argument("-O", dest="opt", default="2", help="optimization level (default: 2)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from nandc import datasets, zoo
    from nandc.backends.report import format_text
    from nandc.experiment import train_compile_verify

    ds = datasets.load_mnist5k(limit=args.limit)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    model = zoo.binary_mlp(784, hidden, ds.classes)
    echo = (lambda *a: None) if args.quiet else print
    outcome = train_compile_verify(model, ds, epochs=args.epochs, passes=f"O{args.opt}",
                                   progress=not args.quiet, echo=echo)
    echo(format_text(outcome.compiled.report()))
    return outcome


if __name__ == "__main__":
    main()
