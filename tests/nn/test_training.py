"""The one training loop (nandc.nn.training): hooks, seeds, batch sources and errors."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nandc.nn as qnn  # noqa: E402
from nandc.nn import training  # noqa: E402
from nandc.nn.gate_functions import LogicConfigError  # noqa: E402


def _data(n=96, features=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, features), dtype=np.float32)
    y = (x[:, 0] + x[:, 1] > x[:, 2] + x[:, 3]).astype(np.int64)
    return x, y


def _binary_mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(qnn.InputBinarize(0.5), qnn.BinaryLinear(8, 16), torch.nn.BatchNorm1d(16),
                               qnn.SignActivation(), qnn.BinaryLinear(16, 2))


def test_fit_is_reproducible_clips_binary_weights_and_ends_in_eval_mode():
    x, y = _data()
    first, second = _binary_mlp(), _binary_mlp()
    r1 = training.fit(first, x, y, epochs=2, lr=0.5, batch_size=32, progress=False)
    r2 = training.fit(second, x, y, epochs=2, lr=0.5, batch_size=32, progress=False)
    assert r1.final_loss == r2.final_loss and 0 <= r1.train_accuracy <= 1
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)
    for m in first.modules():
        if isinstance(m, qnn.BinaryLinear):
            assert m.weight.abs().max() <= 1.0  # lr 0.5 would push them far outside without the clip
    assert not first.training


def test_recipe_hooks_run_in_the_documented_order():
    calls = []

    class Spy(training.Recipe):
        def begin(self, model, rng, n):
            calls.append(("begin", n))

        def epoch_rows(self, epoch, n, rng):
            return np.arange(n)[::2]  # half the rows, in order

        def begin_epoch(self, model, epoch, batches):
            calls.append(("epoch", epoch, batches))

        def before_batch(self, model, epoch):
            calls.append(("batch", epoch))

        def penalty(self, model):
            calls.append("penalty")
            return torch.zeros(())

        def end_epoch(self, model, epoch):
            calls.append(("end", epoch))

        def complete(self, model):
            calls.append("complete")

        def finish(self, model):
            calls.append("finish")

    x, y = _data(n=40)
    model = torch.nn.Sequential(torch.nn.Linear(8, 2))
    result = training.train(model, training.Rows(x, y, 10), epochs=2, lr=0.01, recipe=Spy())
    assert calls[0] == ("begin", 40) and calls[-2:] == ["complete", "finish"]
    assert calls[1:6] == [("epoch", 0, 2), ("batch", 0.0), "penalty", ("batch", 0.5), "penalty"]
    assert ("end", 0) in calls and ("epoch", 1, 2) in calls
    assert result.epochs == 2 and not model.training


def test_finish_runs_and_the_model_is_left_in_eval_mode_when_training_fails():
    finished = []

    class Boom(training.Recipe):
        def after_step(self, model):
            raise RuntimeError("boom")

        def finish(self, model):
            finished.append(True)

    x, y = _data(n=20)
    model = torch.nn.Sequential(torch.nn.Linear(8, 2))
    with pytest.raises(RuntimeError, match="boom"):
        training.train(model, training.Rows(x, y, 10), epochs=1, lr=0.01, recipe=Boom())
    assert finished == [True] and not model.training


def test_windows_give_next_token_targets():
    tokens = np.arange(100) % 7
    x, y = training.windows(tokens, 5, np.array([0, 10]))
    assert x.shape == (2, 5) and torch.equal(x[:, 1:], y[:, :-1])
    assert torch.equal(y[0], torch.from_numpy(tokens[1:6]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="mse"), r"^training: unknown loss 'mse'; expected one of cross_entropy, "),
    (dict(lr_schedule="step"), r"^training: lr_schedule must be None or 'cosine', found 'step'"),
    (dict(epochs=0), r"^training: epochs must be positive, found 0"),
])
def test_training_errors_are_pinned(kwargs, message):
    x, y = _data(n=8)
    args = dict(epochs=1, lr=0.01)
    args.update(kwargs)
    with pytest.raises(LogicConfigError, match=message):
        training.train(torch.nn.Linear(8, 2), training.Rows(x, y, 4), **args)


def test_batch_sources_reject_bad_shapes():
    with pytest.raises(LogicConfigError, match=r"^training: x has 4 rows but y has 3"):
        training.Rows(np.zeros((4, 2)), np.zeros(3), 2)
    with pytest.raises(LogicConfigError, match=r"^training: batch_size must be positive, found 0"):
        training.Rows(np.zeros((4, 2)), np.zeros(4), 0)
    with pytest.raises(LogicConfigError, match=r"^training: need more than 9 tokens for windows of 8, found 5"):
        training.Windows(np.zeros(5, dtype=np.int64), 8, 2)
