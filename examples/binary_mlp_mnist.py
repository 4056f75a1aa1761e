"""Binary (XNOR-Net style) MLP on MNIST-5k: train, compile to NAND2 gates, run, report.

    python examples/binary_mlp_mnist.py                    # 784-256-256-10, 10 epochs
    python examples/binary_mlp_mnist.py --hidden 64 --epochs 2 --limit 1000

The compiled netlist's predictions equal the torch model's on every test sample.
"""

from nandc.lab import datasets, zoo
from nandc.lab.experiment import run_example


def add_arguments(parser):
    parser.add_argument("--hidden", default="256,256", help="hidden layer widths (default: 256,256)")
    parser.add_argument("--limit", type=int, default=None, help="use only this many of the 5000 digits")


def build(args):
    ds = datasets.load_mnist5k(limit=args.limit)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    return zoo.binary_mlp(784, hidden, ds.classes), ds


def main(argv=None):
    return run_example(argv, __doc__, add_arguments, build, epochs=10)


if __name__ == "__main__":
    main()
