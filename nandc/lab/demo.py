"""``nandc demo``: train a small binary network, compile it, run it, report, write files.

Everything runs on data that ships with scikit-learn (the 8x8 digits), so the
demo needs no download.  It proves the contract on every test sample: the
JIT-compiled NAND netlist predicts exactly what the torch model predicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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

    from nandc.backends.report import format_markdown, format_text, to_json
    from nandc.lab.datasets import load_digits
    from nandc.files.fsutil import atomic_write
    from nandc.ir.io import write as write_netlist
    from nandc.lab.experiment import train_compile_verify
    from nandc.lab.zoo import binary_mlp

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    data = load_digits(seed=seed)
    echo(f"data: scikit-learn digits, {len(data.x_train)} train / {len(data.x_test)} test samples, "
         f"{data.shape[0]} pixels binarized at 0.5")
    model = binary_mlp(data.shape[0], hidden, data.classes)
    echo(f"model: binary MLP {data.shape[0]}-{'-'.join(map(str, hidden))}-{data.classes} "
         "(BinaryLinear + BatchNorm1d + sign)")
    outcome = train_compile_verify(model, data, epochs=epochs, passes=passes, seed=seed,
                                   progress=progress, echo=echo)
    compiled = outcome.compiled
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
    return DemoResult(out, outcome.torch_accuracy, outcome.circuit_accuracy, outcome.mismatches,
                      outcome.samples, compiled.num_gates, tuple(files))
