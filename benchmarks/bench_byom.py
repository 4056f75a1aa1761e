"""Models as their authors wrote them, trained on digits: bit-exactness and agreement with the float forward.

For each route (a hand-written abs-max 4-bit CNN with float ReLU through
``nandc.quantize_activations``, a hand-written sign-input BNN with a
BatchNorm head, torch.ao QAT, Brevitas binary MLP and 4-bit per-channel CNN,
the same two through QONNX files) this trains a small model on
scikit-learn's digits, compiles it staged (``-O1``), runs every test sample
through the program and reports:

* ``exact``: samples whose outputs differ from the integer reference
  (``CompiledModel.reference``) -- must be 0;
* ``agree``: argmax agreement of the compiled program with the model's own
  float forward (and, for QONNX, with qonnx's ``execute_onnx``);
* accuracies of the float model and of the compiled program.

    python benchmarks/bench_byom.py [--epochs 8] [--skip brevitas,onnx]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
import warnings


def main(argv=None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--skip", default="", help="comma-separated: brevitas, onnx, ao")
    args = p.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    warnings.simplefilter("ignore")

    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    import nandc
    from nandc.lab import datasets
    from nandc.nn import training

    ds = datasets.load_digits()
    img = (-1, 1, 8, 8)
    rows = []

    def fit(model, x):
        torch.manual_seed(0)
        training.fit(model, x, ds.y_train, epochs=args.epochs, progress=False)
        return model.eval()

    def report(name, model, x_test, compiled=None, float_out=None, extra=None):
        t = time.time()
        xt = torch.from_numpy(x_test)
        if compiled is None:
            compiled = nandc.compile(model, xt[:1], passes="O1", staged=True)
        out = compiled.run(x_test)
        got = compiled.to_torch_output(out["logits"])
        ref = compiled.reference(x_test)
        exact = int((got != ref).reshape(len(x_test), -1).any(1).sum())
        if float_out is None:
            with torch.no_grad():
                float_out = model(xt)
            float_out = getattr(float_out, "value", float_out).numpy()
        agree = float((out["class"] == float_out.argmax(1)).mean())
        row = {"model": name, "samples": len(x_test), "exact": exact, "agree": agree,
               "float acc": float((float_out.argmax(1) == ds.y_test).mean()),
               "compiled acc": float((out["class"] == ds.y_test).mean()),
               "NAND2": compiled.num_gates, "head": compiled.interface.output_kind, "s": time.time() - t}
        row.update(extra or {})
        rows.append(row)
        print(", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
        return compiled

    # -- a hand-written abs-max 4-bit CNN with float ReLU, then quantize_activations
    def absmax4(w):
        s = w.abs().max() / 7
        return w + (torch.round(w / s).clamp(-7, 7) * s - w).detach()

    class Conv4bit(nn.Conv2d):
        def forward(self, x):
            return F.conv2d(x, absmax4(self.weight), self.bias, self.stride, self.padding)

    class Linear4bit(nn.Linear):
        def forward(self, x):
            return F.linear(x, absmax4(self.weight), self.bias)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1 = Conv4bit(1, 8, 3, padding=1), nn.BatchNorm2d(8)
            self.conv2, self.bn2 = Conv4bit(8, 16, 3, padding=1), nn.BatchNorm2d(16)
            self.fc = Linear4bit(16 * 2 * 2, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
            x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
            return self.fc(x.flatten(1))

    xtr, xte = ds.x_train.reshape(img), ds.x_test.reshape(img)
    cnn = fit(CNN(), xtr)
    with torch.no_grad():
        float_cnn = cnn(torch.from_numpy(xte)).numpy()
    q = nandc.quantize_activations(cnn, xtr, bits=4, labels=ds.y_train)
    print(q.calibration)
    report("abs-max CNN + quantize_activations (vs the float-ReLU model)", q, xte, float_out=float_cnn)
    report("abs-max CNN + quantize_activations (vs its own float forward)", q, xte)

    # -- a hand-written BNN: sign on the float input, sign() STE weights and activations, BN head
    def ste_sign(x):
        return x + (torch.sign(x) - x).detach()

    class BinLinear(nn.Linear):
        def forward(self, x):
            return F.linear(x, ste_sign(self.weight))

    class BNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.bn1 = BinLinear(64, 128, bias=False), nn.BatchNorm1d(128)
            self.fc2, self.bn2 = BinLinear(128, 10, bias=False), nn.BatchNorm1d(10)

        def forward(self, x):
            x = torch.sign(x - 0.5)
            return self.bn2(self.fc2(ste_sign(self.bn1(self.fc1(x)))))

    report("hand-written BNN, sign input, BN head", fit(BNN(), ds.x_train), ds.x_test)

    if "ao" not in skip:
        import torch.ao.quantization as tq
        from torch.ao.quantization.quantize_fx import prepare_qat_fx

        float_model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
        qat = prepare_qat_fx(copy.deepcopy(float_model).train(), tq.get_default_qat_qconfig_mapping("fbgemm"),
                             (torch.from_numpy(xtr[:1]),))
        qat = fit(qat, xtr)
        qat.apply(tq.disable_observer)
        report("torch.ao prepare_qat_fx CNN (8-bit)", qat.eval(), xte)

    if "brevitas" not in skip:
        import brevitas.nn as bnn
        from brevitas.quant import Int32Bias, SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

        torch.manual_seed(0)
        binary = nn.Sequential(
            bnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
            bnn.QuantLinear(64, 128, bias=False, weight_quant=SignedBinaryWeightPerTensorConst), nn.BatchNorm1d(128),
            bnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True),
            bnn.QuantLinear(128, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst), nn.BatchNorm1d(10))

        class Centered(nn.Module):  # digits in [0, 1]: center them for the binary input quantizer
            def __init__(self, body):
                super().__init__()
                self.body = body

            def forward(self, x):
                return self.body(x - 0.5)

        binary = fit(Centered(binary), ds.x_train)
        report("Brevitas binary MLP", binary, ds.x_test)
        cnn4 = nn.Sequential(
            bnn.QuantIdentity(bit_width=8, return_quant_tensor=True),
            bnn.QuantConv2d(1, 8, 3, padding=1, weight_bit_width=4, weight_scaling_per_output_channel=True),
            nn.BatchNorm2d(8), bnn.QuantReLU(bit_width=4, return_quant_tensor=True), nn.MaxPool2d(2),
            nn.Flatten(), bnn.QuantLinear(8 * 4 * 4, 10, weight_bit_width=4, weight_scaling_per_output_channel=True,
                                          bias=True, bias_quant=Int32Bias))
        cnn4 = fit(cnn4, xtr)
        report("Brevitas 4-bit CNN, per-channel scales", cnn4, xte)

        if "onnx" not in skip:
            from brevitas.export import export_qonnx
            from qonnx.core.modelwrapper import ModelWrapper
            from qonnx.core.onnx_exec import execute_onnx

            with tempfile.TemporaryDirectory() as tmp:
                for name, model, x in (("binary MLP", binary, ds.x_test), ("4-bit CNN", cnn4, xte)):
                    path = f"{tmp}/m.onnx"
                    export_qonnx(model, torch.from_numpy(x[:1]), export_path=path)
                    mw = ModelWrapper(path)
                    iname, oname = mw.graph.input[0].name, mw.graph.output[0].name
                    qo = np.concatenate([execute_onnx(mw, {iname: x[i:i + 1]})[oname] for i in range(len(x))])
                    compiled = nandc.compile_onnx(path, passes="O1", staged=True)
                    report(f"QONNX {name} (vs execute_onnx)", None, x, compiled=compiled, float_out=qo)
    return rows


if __name__ == "__main__":
    main()
