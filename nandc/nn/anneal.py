"""Training soft logic networks: temperature annealing, binarization penalty, straight-through end.

:func:`anneal_fit` is :func:`nandc.training.fit` plus what soft gates need:
at every batch it sets the gate temperature ``tau`` and the wiring
temperature ``select_tau`` of every soft layer from their schedules
(evaluated at the fractional epoch), adds ``penalty * sum y (1 - y)`` to the
loss, and runs the last ``hard_epochs`` epochs with straight-through
hardening (forward = the exact hardened network).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nandc.nn.gates import LogicConfigError
from nandc.nn.schedules import Schedule
from nandc.nn.soft import binarization_penalty, set_straight_through, set_temperature, soft_layers

__all__ = ["AnnealConfig", "AnnealResult", "anneal_fit", "LOSSES"]


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out, y)


def _bit_cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(out.clamp(1e-6, 1 - 1e-6), y)


def _class_hits(out: torch.Tensor, y: torch.Tensor) -> int:
    return int((out.argmax(1) == y).sum())


def _row_hits(out: torch.Tensor, y: torch.Tensor) -> int:
    return int(((out > 0.5) == (y > 0.5)).all(1).sum())


#: loss name -> (loss(out, target), number of correct samples, target dtype)
LOSSES = {
    "cross_entropy": (_cross_entropy, _class_hits, torch.int64),  # class labels, logits out
    "bit_cross_entropy": (_bit_cross_entropy, _row_hits, torch.float32),  # 0/1 targets, bits out
}


@dataclass(frozen=True)
class AnnealConfig:
    """How :func:`anneal_fit` trains.

    ``tau`` / ``select_tau``: schedules over epochs (None keeps the layers'
    values); ``penalty``: weight of :func:`~nandc.nn.soft.binarization_penalty`;
    ``hard_epochs``: last epochs trained with straight-through hardening;
    ``loss``: a key of :data:`LOSSES` (``"bit_cross_entropy"`` for truth tables).
    """

    epochs: int = 20
    lr: float = 0.05
    batch_size: int = 128
    tau: Schedule | None = None
    select_tau: Schedule | None = None
    penalty: float = 0.0
    hard_epochs: int = 0
    loss: str = "cross_entropy"
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise LogicConfigError(
                f"AnnealConfig: epochs and batch_size must be positive, found {self.epochs}, {self.batch_size}"
            )
        if not 0 <= self.hard_epochs <= self.epochs:
            raise LogicConfigError(
                f"AnnealConfig: hard_epochs must be in 0..epochs ({self.epochs}), found {self.hard_epochs}"
            )
        if self.loss not in LOSSES:
            raise LogicConfigError(f"AnnealConfig: unknown loss {self.loss!r}; expected one of {', '.join(LOSSES)}")


@dataclass(frozen=True)
class AnnealResult:
    """What :func:`anneal_fit` did: last epoch's mean loss and accuracy, final temperatures, time."""

    epochs: int
    final_loss: float
    train_accuracy: float
    tau: float | None
    select_tau: float | None
    seconds: float


def _apply_schedules(model, config: AnnealConfig, epoch: float) -> None:
    set_temperature(model,
                    None if config.tau is None else config.tau(epoch),
                    None if config.select_tau is None else config.select_tau(epoch))


def anneal_fit(model, x: np.ndarray, y: np.ndarray, config: AnnealConfig = AnnealConfig(),
               progress: bool = False, desc: str = "annealing") -> AnnealResult:
    """Train ``model`` in place with Adam; returns an :class:`AnnealResult`.

    Requires: ``model`` contains soft logic layers (else there is nothing to
    anneal); ``x`` float inputs, ``y`` class labels (or 0/1 target rows for
    ``"bit_cross_entropy"``).  Ensures: the temperatures end at the
    schedules' final values, straight-through mode is off again, and the
    model is in eval mode.
    """
    from tqdm.auto import tqdm

    if not soft_layers(model):
        raise LogicConfigError("anneal_fit: the model has no soft logic layer (SoftNAND or LogicLayer) to train")
    loss_fn, hits_fn, target_dtype = LOSSES[config.loss]
    torch.manual_seed(config.seed)
    order_gen = np.random.default_rng(config.seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y), dtype=target_dtype)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    batches = max(1, -(-len(xt) // config.batch_size))
    t0 = time.perf_counter()
    loss_value, correct = float("nan"), 0
    model.train()
    bar = tqdm(range(config.epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    try:
        for epoch in bar:
            set_straight_through(model, epoch >= config.epochs - config.hard_epochs)
            order = torch.from_numpy(order_gen.permutation(len(xt)))
            total, correct = 0.0, 0
            for i in range(batches):
                _apply_schedules(model, config, epoch + i / batches)
                idx = order[i * config.batch_size:(i + 1) * config.batch_size]
                out = model(xt[idx])
                loss = loss_fn(out, yt[idx])
                if config.penalty:
                    loss = loss + config.penalty * binarization_penalty(model)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
                correct += hits_fn(out.detach(), yt[idx])
            loss_value = total / len(xt)
            bar.set_postfix(loss=f"{loss_value:.3f}", acc=f"{correct / len(xt):.3f}")
    finally:
        set_straight_through(model, False)
        _apply_schedules(model, config, config.epochs)
        model.eval()
        for layer in soft_layers(model):
            layer.last_penalty = None
    return AnnealResult(config.epochs, loss_value, correct / max(1, len(xt)),
                        None if config.tau is None else config.tau(config.epochs),
                        None if config.select_tau is None else config.select_tau(config.epochs),
                        time.perf_counter() - t0)
