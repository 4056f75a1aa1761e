"""The one training loop of nandc: Adam over mini-batches, a progress bar, and recipes as hooks.

:func:`train` is the loop.  What a recipe adds is a :class:`Recipe`, whose
hooks run at fixed points of every epoch and batch; the data comes from a
batch source, :class:`Rows` (shuffled mini-batches of ``(x, y)`` arrays) or
:class:`Windows` (random windows of a token stream, one batch per step).
The trainers are thin wrappers:

* :func:`fit` -- quantized models (binary, 4-bit, ternary, MBOK):
  cross-entropy, cosine learning rate, latent binary weights clipped to
  ``[-1, 1]`` after every step;
* :func:`fit_language_model` -- next-token training on windows of
  ``model.context`` tokens;
* :func:`nandc.nn.anneal.anneal_fit` -- soft logic: temperature schedules,
  binarization penalty, straight-through end;
* :func:`nandc.nn.admm.admm_fit` -- slack variables solved by ADMM
  (curriculum rows, penalty, proximal snap, z-steps).

Seeds: ``torch.manual_seed(seed)`` and one ``numpy.random.default_rng(seed)``
that draws every shuffle, so a run is reproducible.  Importing this module
imports torch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from nandc.nn.gate_functions import LogicConfigError

__all__ = ["FitResult", "LOSSES", "Recipe", "Rows", "Windows", "train", "fit", "fit_language_model",
           "bits_per_char", "torch_predict", "accuracy"]


# ---------------------------------------------------------------------- losses
def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y)


def _bit_cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), y)


def _next_token(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))


def _class_hits(out: torch.Tensor, y: torch.Tensor) -> int:
    return int((out.argmax(1) == y).sum())


def _row_hits(out: torch.Tensor, y: torch.Tensor) -> int:
    return int(((out > 0.5) == (y > 0.5)).all(1).sum())


def _token_hits(out: torch.Tensor, y: torch.Tensor) -> int:
    return int((out.argmax(-1) == y).sum())


#: loss name -> (loss(out, target), number of correct samples, target dtype)
LOSSES = {
    "cross_entropy": (_cross_entropy, _class_hits, torch.int64),  # class labels, logits out
    "bit_cross_entropy": (_bit_cross_entropy, _row_hits, torch.float32),  # 0/1 targets, bits out
    "next_token": (_next_token, _token_hits, torch.int64),  # token ids, logits per position out
}


@dataclass(frozen=True)
class FitResult:
    """What a training run did: epochs (or steps), the mean loss of the last one(s), accuracy, seconds."""

    epochs: int
    final_loss: float
    train_accuracy: float
    seconds: float


# ---------------------------------------------------------------------- recipes and batch sources
class Recipe:
    """Hooks of :func:`train`.  Every default does nothing; a recipe overrides what it needs.

    Order within a run: ``begin`` (after seeding, before the optimizer is
    made), then per epoch ``epoch_rows`` (row order, :class:`Rows` only),
    ``begin_epoch``, per batch ``before_batch`` / forward / ``penalty`` /
    step / ``after_step``, then ``end_epoch``; after the last epoch
    ``complete``; always (also on errors) ``finish``.
    """

    def begin(self, model, rng: np.random.Generator, n: int) -> None:
        """Called once with the sample count ``n`` before the optimizer exists."""

    def epoch_rows(self, epoch: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """The rows of epoch ``epoch``, in training order (default: a random permutation of all ``n``)."""
        return rng.permutation(n)

    def begin_epoch(self, model, epoch: int, batches: int) -> None:
        pass

    def before_batch(self, model, epoch: float) -> None:
        """``epoch`` is fractional: epoch index plus the fraction of its batches done."""

    def penalty(self, model) -> torch.Tensor | None:
        """A term added to the loss (only the loss itself is reported)."""
        return None

    def after_step(self, model) -> None:
        pass

    def end_epoch(self, model, epoch: int) -> None:
        pass

    def postfix(self) -> dict[str, str]:
        """Extra fields of the progress bar."""
        return {}

    def complete(self, model) -> None:
        """After the last epoch (not after an error)."""

    def finish(self, model) -> None:
        """Always, last: restore what the recipe changed on the model."""


def _has_batchnorm(model) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())


class Rows:
    """Shuffled mini-batches of the rows of ``x`` (float inputs) and ``y`` (targets).

    A batch of one row is skipped when the model has BatchNorm (its
    training statistics need two).
    """

    unit = "epoch"

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, target_dtype=torch.int64):
        if batch_size < 1:
            raise LogicConfigError(f"training: batch_size must be positive, found {batch_size}")
        if len(x) != len(y):
            raise LogicConfigError(f"training: x has {len(x)} rows but y has {len(y)}")
        self.x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        self.y = torch.as_tensor(np.asarray(y), dtype=target_dtype)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.x)

    def epoch(self, model, epoch: int, rng: np.random.Generator, recipe: Recipe) -> Iterator[tuple]:
        rows = recipe.epoch_rows(epoch, len(self.x), rng)
        rows = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        batches = max(1, -(-len(rows) // self.batch_size))
        skip_single = _has_batchnorm(model)
        recipe.begin_epoch(model, epoch, batches)
        for i in range(batches):
            recipe.before_batch(model, epoch + i / batches)
            idx = rows[i * self.batch_size:(i + 1) * self.batch_size]
            if skip_single and len(idx) < 2:
                continue
            yield self.x[idx], self.y[idx]


class Windows:
    """Next-token batches: ``batch_size`` random windows of ``context + 1`` tokens, one batch per step."""

    unit = "step"

    def __init__(self, tokens: np.ndarray, context: int, batch_size: int):
        tokens = np.asarray(tokens)
        if len(tokens) < context + 2:
            raise LogicConfigError(f"training: need more than {context + 1} tokens for windows of "
                                   f"{context}, found {len(tokens)}")
        self.tokens, self.context, self.batch_size = tokens, context, batch_size

    def __len__(self) -> int:
        return self.batch_size * self.context

    def epoch(self, model, epoch: int, rng: np.random.Generator, recipe: Recipe) -> Iterator[tuple]:
        starts = rng.integers(0, len(self.tokens) - self.context - 1, size=self.batch_size)
        recipe.begin_epoch(model, epoch, 1)
        recipe.before_batch(model, float(epoch))
        yield windows(self.tokens, self.context, starts)


def windows(tokens: np.ndarray, context: int, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``tokens[s : s + context]`` and next-token targets, one row per start ``s``."""
    idx = np.asarray(starts)[:, None] + np.arange(context + 1)[None, :]
    chunk = torch.from_numpy(np.asarray(tokens)[idx])
    return chunk[:, :-1], chunk[:, 1:]


# ---------------------------------------------------------------------- the loop
def train(model, data: Rows | Windows, *, epochs: int, lr: float, loss: str = "cross_entropy",
          lr_schedule: str | None = None, seed: int = 0, recipe: Recipe | None = None,
          progress: bool = False, desc: str = "training", average_last: int = 1) -> FitResult:
    """Train ``model`` in place with Adam over ``epochs`` passes of ``data``; returns a :class:`FitResult`.

    ``loss``: a key of :data:`LOSSES`; ``lr_schedule``: ``None`` (constant)
    or ``"cosine"`` (stepped once per epoch); ``average_last``: the result's
    ``final_loss`` is the mean over that many last epochs.  Ensures: the
    model ends in eval mode and ``recipe.finish`` ran, also on errors.
    """
    from tqdm.auto import tqdm

    if loss not in LOSSES:
        raise LogicConfigError(f"training: unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    if lr_schedule not in (None, "cosine"):
        raise LogicConfigError(f"training: lr_schedule must be None or 'cosine', found {lr_schedule!r}")
    if epochs < 1:
        raise LogicConfigError(f"training: epochs must be positive, found {epochs}")
    loss_fn, hits_fn, _ = LOSSES[loss]
    recipe = recipe or Recipe()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    losses: list[float] = []
    accuracy_value = float("nan")
    try:
        recipe.begin(model, rng, len(data))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs)) if lr_schedule else None
        model.train()
        bar = tqdm(range(epochs), desc=desc, unit=data.unit, disable=not progress, leave=False)
        for epoch in bar:
            total, correct, seen, targets = 0.0, 0, 0, 0
            for xb, yb in data.epoch(model, epoch, rng, recipe):
                out = model(xb)
                value = loss_fn(out, yb)
                extra = recipe.penalty(model)
                opt.zero_grad()
                (value if extra is None else value + extra).backward()
                opt.step()
                recipe.after_step(model)
                total += float(value.detach()) * len(xb)
                seen += len(xb)
                correct += hits_fn(out.detach(), yb)
                targets += yb.numel() if loss == "next_token" else len(yb)
            if sched is not None:
                sched.step()
            recipe.end_epoch(model, epoch)
            losses.append(total / max(1, seen))
            accuracy_value = correct / max(1, targets)
            bar.set_postfix(loss=f"{losses[-1]:.3f}", acc=f"{accuracy_value:.3f}", **recipe.postfix(),
                            refresh=False)
        recipe.complete(model)
    finally:
        recipe.finish(model)
        model.eval()
    tail = losses[-max(1, average_last):]
    return FitResult(epochs, float(np.mean(tail)) if tail else float("nan"), accuracy_value,
                     time.perf_counter() - t0)


# ---------------------------------------------------------------------- trainers
class _ClipBinary(Recipe):
    """Keep latent binary weights in [-1, 1] (the straight-through gradient vanishes outside)."""

    def __init__(self, model):
        from nandc.nn.binary import BinaryConv2d, BinaryLinear

        self.layers = [m for m in model.modules() if isinstance(m, (BinaryLinear, BinaryConv2d))]

    def after_step(self, model) -> None:
        with torch.no_grad():
            for m in self.layers:
                m.weight.clamp_(-1.0, 1.0)


def fit(model, x: np.ndarray, y: np.ndarray, epochs: int = 10, lr: float = 1e-2, batch_size: int = 64,
        seed: int = 0, progress: bool = True, desc: str = "training") -> FitResult:
    """Train a quantized classifier in place on numpy arrays (cross-entropy, Adam, cosine learning rate).

    Shows a tqdm bar unless ``progress=False``.  Any other training loop
    works as well: nandc compiles the trained module, not the loop.
    """
    return train(model, Rows(x, y, batch_size), epochs=epochs, lr=lr, lr_schedule="cosine", seed=seed,
                 recipe=_ClipBinary(model), progress=progress, desc=desc)


def fit_language_model(model, tokens: np.ndarray, steps: int = 2000, batch_size: int = 32, lr: float = 3e-3,
                       seed: int = 0, progress: bool = True, desc: str = "training") -> FitResult:
    """Next-token training on random windows of ``model.context`` tokens (Adam, cosine schedule).

    ``final_loss`` is the mean loss of the last 50 steps; ``train_accuracy``
    the next-token accuracy of the last step.
    """
    return train(model, Windows(tokens, model.context, batch_size), epochs=steps, lr=lr, loss="next_token",
                 lr_schedule="cosine", seed=seed, recipe=_ClipBinary(model), progress=progress, desc=desc,
                 average_last=50)


# ---------------------------------------------------------------------- evaluation helpers
def torch_predict(model, x: np.ndarray, batch_size: int = 4096) -> torch.Tensor:
    """Eval-mode outputs of ``model`` on a numpy batch (a float32 torch tensor)."""
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32))))
    return torch.cat(outs) if outs else torch.zeros(0)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of equal entries (nan for no labels)."""
    return float(np.mean(np.asarray(predicted) == np.asarray(labels))) if len(labels) else float("nan")


def bits_per_char(model, tokens: np.ndarray, max_windows: int = 256) -> float:
    """Mean next-token cross-entropy in bits over non-overlapping windows of the held-out ``tokens``."""
    context = model.context
    count = min(max_windows, (len(tokens) - 1) // context)
    x, y = windows(tokens, context, np.arange(count) * context)
    model.eval()
    with torch.no_grad():
        loss = F.cross_entropy(model(x).reshape(-1, model.vocab).double(), y.reshape(-1))
    return float(loss) / math.log(2)
