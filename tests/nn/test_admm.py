"""Slack-variable (ADMM) training of soft-NAND networks: mechanics, and exact hardening of XOR and a full adder."""

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nandc.nn import (BooleanLayer, LogicConfigError, LogicLayer, SoftNAND, harden,  # noqa: E402
                      soft_nand_network)
from nandc.nn import gate_functions as gates  # noqa: E402
from nandc.lab.experiment import learn_truth_table  # noqa: E402
from nandc.nn.admm import TRUTH_TABLE_ADMM, ADMMConfig, admm_fit, choice_variables, hard_choices  # noqa: E402
from nandc.nn.truth_table import FULL_ADDER, XOR  # noqa: E402


def check_exact(fit, table):
    """The hardened torch net equals the table on every row, is all NAND, and its netlist is proved equal."""
    assert fit.proof.equivalent and fit.proof.method == "exhaustive", fit.proof
    with torch.no_grad():
        out = fit.model(torch.from_numpy(table.input_rows()))
    assert np.array_equal(out.numpy(), table.target_rows())
    layers = [m for m in fit.model.modules() if isinstance(m, BooleanLayer)]
    assert layers and all(set(m.ops.tolist()) == {gates.NAND_FN} for m in layers)
    res = fit.compiled.run(table.input_rows(), backend="reference")
    assert np.array_equal(np.asarray(res["logits"]).reshape(len(out), -1), table.target_rows().astype(np.int64))


@pytest.mark.slow
def test_admm_hardens_xor_exactly_for_a_fixed_seed():
    fit = learn_truth_table(XOR, (4, 4), attempts=1, seed=0, trainer="admm")
    check_exact(fit, XOR)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_admm_hardens_a_full_adder_exactly_for_fixed_seeds(seed):
    fit = learn_truth_table(FULL_ADDER, attempts=1, seed=seed, trainer="admm")
    check_exact(fit, FULL_ADDER)


def test_choice_variables_cover_wiring_and_functions():
    model = torch.nn.Sequential(SoftNAND(4, 6, candidates=3, seed=0), LogicLayer(6, 5, seed=1),
                                LogicLayer(5, 4, candidates=2, seed=2))
    shapes = [tuple(p.shape) for p, _ in choice_variables(model)]
    assert shapes == [(2, 6, 3), (5, 16), (2, 4, 2), (4, 16)]
    assert all(torch.equal(h.sum(-1), torch.ones(h.shape[:-1])) for h in hard_choices(model))


def test_snap_ends_on_hard_points_and_harden_keeps_the_choices():
    table = FULL_ADDER
    model = soft_nand_network(3, 2, (8, 8), seed=3)
    cfg = replace(TRUTH_TABLE_ADMM, epochs=20, tau=None, curriculum_epochs=8, snap_epochs=5, keep_best=False)
    res = admm_fit(model, table.input_rows(), table.target_rows(), cfg)
    assert res.epochs == 20 and res.rho > cfg.rho
    bound = 1 / (1 + np.exp(-cfg.snap_margin))
    for logits, temperature in choice_variables(model):
        p = torch.softmax(logits.detach() / temperature(), -1)
        assert bool((p.max(-1).values >= bound - 1e-6).all())
    assert not model.training and all(m.gumbel == 0.0 for m in model.modules() if isinstance(m, SoftNAND))
    # the soft network (soft NAND at tau 0.2 on near-one-hot wiring) rounds to the hardened one
    hard = harden(model)
    with torch.no_grad():
        x = torch.from_numpy(table.input_rows())
        assert torch.equal((model(x) > 0.5).float(), hard(x))


def test_keep_best_never_returns_a_worse_network_than_one_it_scored(monkeypatch):
    import nandc.nn.admm as admm

    scores = []
    real = admm._score_choices

    def spy(*args, **kwargs):
        s = real(*args, **kwargs)
        scores.append(s)
        return s

    monkeypatch.setattr(admm, "_score_choices", spy)
    table = FULL_ADDER
    model = soft_nand_network(3, 2, (6, 6), seed=1)
    cfg = replace(TRUTH_TABLE_ADMM, epochs=25, tau=None, curriculum_epochs=0, snap_epochs=0, gumbel=0.5)
    admm_fit(model, table.input_rows(), table.target_rows(), cfg)
    hard = harden(model)
    with torch.no_grad():
        out = hard(torch.from_numpy(table.input_rows()))
    final = int(((out > 0.5) == torch.from_numpy(table.target_rows() > 0.5)).all(1).sum())
    assert scores and final >= max(scores)


def test_gumbel_noise_only_in_training_and_errors_are_pinned():
    layer = SoftNAND(5, 3, candidates=5, seed=0)
    x = torch.rand(4, 5)
    layer.gumbel = 1.0
    layer.eval()
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))
    with pytest.raises(LogicConfigError, match=r"^SoftNAND: gumbel must be a finite number >= 0, found -1.0$"):
        layer.gumbel = -1
    with pytest.raises(LogicConfigError, match=r"^ADMMConfig: need rho > 0, rho_growth >= 1 and rho_max >= rho, "
                                                r"found rho=0.0, rho_growth=1.05, rho_max=50.0$"):
        ADMMConfig(rho=0.0)
    with pytest.raises(LogicConfigError, match=r"^ADMMConfig: curriculum_epochs and snap_epochs must be in "
                                                r"0\.\.epochs \(10\), found 0, 11$"):
        ADMMConfig(epochs=10, snap_epochs=11)
    with pytest.raises(LogicConfigError, match=r"^admm_fit: the model has no learned choice"):
        admm_fit(SoftNAND(3, 2, candidates=1, seed=0), np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32),
                 ADMMConfig(loss="bit_cross_entropy", epochs=1))
