"""examples/conv_logic_mnist.py runs with tiny settings and keeps the contract."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "conv_logic_mnist.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_conv_logic_mnist", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_contract(outcome):
    assert outcome.mismatches == 0
    assert outcome.logits_identical
    assert outcome.hard_accuracy == outcome.circuit_accuracy
    assert outcome.nand2_gates == outcome.compiled.num_gates == sum(
        s.netlist.num_gates for s in outcome.compiled.program.stages)
    assert outcome.gate_evaluations == sum(s.evaluations for s in outcome.stages)
    assert [s.name for s in outcome.stages][:2] == ["input", "conv1"] and outcome.stages[0].nand2 == 0


def test_conv_logic_example_on_digits_compiles_staged_and_bit_exact():
    outcome = load_example().main(["--dataset", "digits", "--limit", "300", "--channels", "4,8", "--dense", "40",
                                   "--epochs", "1", "-O", "1", "--backend", "reference", "--quiet"])
    check_contract(outcome)
    assert [s.positions for s in outcome.stages] == [64, 64, 16, 1]


@pytest.mark.slow
def test_conv_logic_example_on_mnist5k_at_a_tiny_setting():
    outcome = load_example().main(["--limit", "1500", "--channels", "8,16", "--dense", "1000", "--epochs", "4",
                                   "--batch-size", "50", "--quiet"])
    check_contract(outcome)
    assert [s.positions for s in outcome.stages] == [784, 784, 196, 1]
    assert outcome.hard_accuracy > 0.3  # well above chance (0.1) after four short epochs (0.64 measured)
