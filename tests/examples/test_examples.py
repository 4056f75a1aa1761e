"""Every example script runs (with tiny settings) and keeps the contract."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name, argv", [
    ("binary_mlp_mnist", ["--hidden", "32", "--epochs", "1", "--limit", "600", "--quiet"]),
    ("ternary_mlp", ["--hidden", "16", "--epochs", "1", "--quiet"]),
    ("int4_cnn", ["--channels", "4,4", "--epochs", "1", "--quiet"]),
])
def test_example_runs_bit_exact(name, argv):
    outcome = load(name).main(argv)
    assert outcome.mismatches == 0
    assert outcome.logits_identical
    assert outcome.torch_accuracy == outcome.circuit_accuracy
    assert outcome.compiled.num_gates > 0


@pytest.mark.slow
def test_language_model_example_generates_the_same_text_through_the_netlists():
    outcome = load("bitnet_lm").main(["--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16",
                                      "--steps", "30", "--chars", "40000", "--generate", "12", "--check", "4",
                                      "-O", "0", "--quiet"])
    assert outcome.mismatches == 0 and outcome.positions_checked == 64
    assert outcome.generations_equal
    assert all(len(text) == len(prompt) + 12 for prompt, text in outcome.samples)


def test_every_example_is_tested():
    tested = {"binary_mlp_mnist", "ternary_mlp", "int4_cnn", "bitnet_lm"}
    others = {p.stem for p in EXAMPLES.glob("*.py")} - tested
    # examples owned by other test files declare themselves here
    assert others <= {"soft_nand_mnist", "conv_logic_mnist"}, f"examples without a test: {sorted(others)}"
