"""4-bit VGG-style CNN on the 8x8 digit images: train, compile, run, report.

    python examples/int4_cnn.py
    python examples/int4_cnn.py --channels 4,8 --epochs 2

Blocks of Int4Conv2d (15 weight levels) + BatchNorm2d + 2-bit ReLUQuant +
MaxPool2d, then an Int4Linear head.  BatchNorm and the quantizer fold into
per-channel threshold sets; max pooling becomes comparator trees.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", default="8,16", help="channels of the conv blocks (default: 8,16)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("-O", dest="opt", default="2")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)

    from nandc import datasets, zoo
    from nandc.backends.report import format_text
    from nandc.experiment import train_compile_verify

    ds = datasets.load_digits(image=True)
    channels = tuple(int(ch) for ch in args.channels.split(","))
    model = zoo.int4_cnn(1, 8, channels, ds.classes)
    echo = (lambda *a: None) if args.quiet else print
    outcome = train_compile_verify(model, ds, epochs=args.epochs, passes=f"O{args.opt}",
                                   progress=not args.quiet, echo=echo)
    echo(format_text(outcome.compiled.report()))
    return outcome


if __name__ == "__main__":
    main()
