"""MBOK on digits: accuracy and NAND2 gates for K = 1..4 kernels, beside float, binary and 4-bit.

Every model is a 64-H-10 MLP (H hidden units, BatchNorm).  The MBOK models
start from the trained float model's weights (successive extraction) with
binarized inputs and sign activations, then train natively.  Compiled
accuracy is checked equal to torch's on every test sample.

    python benchmarks/bench_mbok.py [--hidden 64] [--epochs 20]
"""

from __future__ import annotations

import argparse
from collections import OrderedDict


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--kernels", default="1,2,3,4")
    args = p.parse_args(argv)

    import torch
    from torch import nn

    import nandc
    import nandc.nn as qnn
    from nandc.lab import datasets, zoo
    from nandc.nn import training

    ds = datasets.load_digits()
    h = args.hidden
    rows = []

    def evaluate(name, model, compile_it=True):
        ref = training.torch_predict(model, ds.x_test).argmax(1).numpy()
        acc = training.accuracy(ref, ds.y_test)
        gates = None
        if compile_it:
            compiled = nandc.compile(model, torch.from_numpy(ds.x_test[:1]), passes="O2")
            pred = compiled.predict(ds.x_test, backend="reference")
            assert (pred == ref).all(), f"{name}: circuit differs from torch"
            gates = compiled.num_gates
        rows.append({"model": name, "accuracy": acc, "nand2": gates})
        print(f"{name:<22} accuracy {acc:7.2%}   NAND2 {gates if gates is not None else '-':>9}")

    torch.manual_seed(0)
    fc1, fc2 = nn.Linear(64, h), nn.Linear(h, 10)
    float_model = nn.Sequential(OrderedDict(fc1=fc1, bn1=nn.BatchNorm1d(h), relu1=nn.ReLU(), out=fc2))
    training.fit(float_model, ds.x_train, ds.y_train, epochs=args.epochs, progress=False)
    evaluate("float (not compiled)", float_model, compile_it=False)

    torch.manual_seed(0)
    binary = zoo.binary_mlp(64, (h,), 10)
    training.fit(binary, ds.x_train, ds.y_train, epochs=args.epochs, progress=False)
    evaluate("binary", binary)

    torch.manual_seed(0)
    int4 = nn.Sequential(OrderedDict(input=qnn.InputQuant(2, 0.25), fc1=qnn.Int4Linear(64, h),
                                     bn1=nn.BatchNorm1d(h), act1=qnn.ReLUQuant(2, 0.5), out=qnn.Int4Linear(h, 10)))
    training.fit(int4, ds.x_train, ds.y_train, epochs=args.epochs, progress=False)
    evaluate("4-bit", int4)

    for k in (int(v) for v in args.kernels.split(",")):
        torch.manual_seed(0)
        model = nn.Sequential(OrderedDict(
            input=qnn.InputBinarize(0.5), fc1=qnn.MBOKLinear.from_float(fc1, k), bn1=nn.BatchNorm1d(h),
            act1=qnn.SignActivation(), out=qnn.MBOKLinear.from_float(fc2, k)))
        training.fit(model, ds.x_train, ds.y_train, epochs=args.epochs, lr=5e-3, progress=False)
        evaluate(f"MBOK K={k}", model)
    return rows


if __name__ == "__main__":
    main()
