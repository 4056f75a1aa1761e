"""BitNet b1.58 style ternary MLP on scikit-learn digits: train, compile, run, report.

    python examples/ternary_mlp.py
    python examples/ternary_mlp.py --hidden 32 --epochs 2

Ternary weights {-1, 0, +1} (absmean), int8 absmax activations per sample;
the circuit computes the exact integer sums and the per-sample int8
requantization (a divider per activation), bit for bit.
"""

from nandc.lab import datasets, zoo
from nandc.lab.experiment import run_example


def add_arguments(parser):
    parser.add_argument("--hidden", default="64", help="hidden layer widths (default: 64)")
    parser.add_argument("--input-bits", type=int, default=2, help="bits per input pixel (default: 2)")


def build(args):
    ds = datasets.load_digits()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    return zoo.ternary_mlp(64, hidden, ds.classes, input_bits=args.input_bits), ds


def main(argv=None):
    return run_example(argv, __doc__, add_arguments, build, epochs=20)


if __name__ == "__main__":
    main()
