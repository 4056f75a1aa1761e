"""``nandc demo``: train a small binary network, compile it, run it, report, write files.

Everything runs on data that ships with scikit-learn (the 8x8 digits), so the
demo needs no download.  It proves the contract on every test sample: the
JIT-compiled NAND netlist predicts exactly what the torch model predicts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["DemoResult", "run_demo"]


@dataclass(frozen=True)
class DemoResult:
    out_dir: Path
    torch_accuracy: float
    circuit_accuracy: float
    mismatches: int
    test_samples: int
    nand2_gates: int
    files: tuple[Path, ...]


def run_demo(out_dir: str | Path = "nandc-demo", epochs: int = 40, hidden: tuple[int, ...] = (128, 64),
             seed: int = 0, passes: str = "O2", progress: bool = True,
             echo: Callable[[str], None] = print) -> DemoResult:
    """Train, compile, verify, report and write outputs into ``out_dir``."""
    import torch

    import nandc
    from nandc.backends.report import format_markdown, format_text, to_json
    from nandc.data import load_digits
    from nandc.fsutil import atomic_write
    from nandc.ir.io import write as write_netlist
    from nandc.training import accuracy, fit, torch_predict
    from nandc.zoo import binary_mlp

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    data = load_digits(seed=seed)
    echo(f"data: scikit-learn digits, {len(data.x_train)} train / {len(data.x_test)} test samples, "
         f"{data.shape[0]} pixels binarized at 0.5")
    model = binary_mlp(data.shape[0], hidden, data.classes)
    echo(f"model: binary MLP {data.shape[0]}-{'-'.join(map(str, hidden))}-{data.classes} "
         "(BinaryLinear + BatchNorm1d + sign)")
    fitted = fit(model, data.x_train, data.y_train, epochs=epochs, lr=1e-2, seed=seed, progress=progress)
    echo(f"trained {epochs} epochs in {fitted.seconds:.1f} s")

    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.from_numpy(data.x_test[:1]), passes=passes)
    echo(f"compiled to {compiled.num_gates} NAND2 gates in {time.perf_counter() - t0:.1f} s "
         f"(pipeline {passes})")

    reference = torch_predict(model, data.x_test)
    torch_classes = reference.argmax(1).numpy()
    t0 = time.perf_counter()
    result = compiled.run(data.x_test, backend="jit")
    run_s = time.perf_counter() - t0
    classes = result["class"]
    mismatches = int(np.sum(classes != torch_classes))
    logits_equal = bool(torch.equal(compiled.to_torch_output(result["logits"]), reference))
    echo(f"ran the netlist on {len(classes)} test samples through the LLVM JIT in {run_s * 1e3:.1f} ms")
    echo(f"predictions equal to torch's: {len(classes) - mismatches}/{len(classes)}"
         f"{'' if mismatches else ' (every sample)'}; logits identical: {logits_equal}")
    acc_t, acc_c = accuracy(torch_classes, data.y_test), accuracy(classes, data.y_test)
    echo(f"test accuracy: torch {acc_t:.2%}, NAND netlist {acc_c:.2%}")

    report = compiled.report()
    echo("")
    echo(format_text(report))
    files = []
    for name, writer in (
        ("model.v", lambda p: compiled.to_verilog(p, "digits_bnn")),
        ("model.aig", lambda p: write_netlist(compiled.netlist, p)),
        ("model.nandc", compiled.save),
    ):
        path = out / name
        writer(path)
        files.append(path)
    for name, text in (("report.md", format_markdown(report)), ("report.json", to_json(report))):
        path = out / name
        with atomic_write(path) as f:
            f.write(text + ("\n" if not text.endswith("\n") else ""))
        files.append(path)
    echo("")
    echo(f"wrote {', '.join(str(p) for p in files)}")
    return DemoResult(out, acc_t, acc_c, mismatches, len(classes), compiled.num_gates, tuple(files))
