"""examples/soft_nand_mnist.py runs with tiny settings and keeps the contract."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "soft_nand_mnist.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_soft_nand_mnist", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("gate, opt", [("nand", "1"), ("logic", "3")])
def test_soft_nand_example_compiles_the_hardened_model_bit_exact(gate, opt):
    outcome = load_example().main(["--dataset", "digits", "--limit", "400", "--gate", gate, "--widths", "40,30",
                                   "--epochs", "2", "-O", opt, "--backend", "reference", "--quiet"])
    assert outcome.mismatches == 0
    assert outcome.logits_identical
    assert outcome.hard_accuracy == outcome.circuit_accuracy
    assert 0 < outcome.logic_gates < outcome.nand2_gates == outcome.compiled.num_gates
    assert 0.0 <= outcome.soft_accuracy <= 1.0
