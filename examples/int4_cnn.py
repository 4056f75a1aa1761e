"""4-bit VGG-style CNN on the 8x8 digit images: train, compile, run, report.

    python examples/int4_cnn.py
    python examples/int4_cnn.py --channels 4,8 --epochs 2

Blocks of Int4Conv2d (15 weight levels) + BatchNorm2d + 2-bit ReLUQuant +
MaxPool2d, then an Int4Linear head.  BatchNorm and the quantizer fold into
per-channel threshold sets; max pooling becomes comparator trees.
"""

from nandc.lab import datasets, zoo
from nandc.lab.experiment import run_example


def add_arguments(parser):
    parser.add_argument("--channels", default="8,16", help="channels of the conv blocks (default: 8,16)")


def build(args):
    ds = datasets.load_digits(image=True)
    channels = tuple(int(ch) for ch in args.channels.split(","))
    return zoo.int4_cnn(1, 8, channels, ds.classes), ds


def main(argv=None):
    return run_example(argv, __doc__, add_arguments, build, epochs=15)


if __name__ == "__main__":
    main()
