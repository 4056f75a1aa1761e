"""Training soft logic networks: temperature annealing, binarization penalty, straight-through end.

:func:`anneal_fit` is the one training loop (:func:`nandc.nn.training.train`) with the recipe soft gates need:
at every batch it sets the gate temperature ``tau`` and the wiring
temperature ``select_tau`` of every soft layer from their schedules
(evaluated at the fractional epoch), adds ``penalty * sum y (1 - y)`` to the
loss, and runs the last ``hard_epochs`` epochs with straight-through
hardening (forward = the exact hardened network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nandc.nn.training import LOSSES, Recipe, Rows, train
from nandc.nn.gate_functions import LogicConfigError
from nandc.nn.schedules import Schedule
from nandc.nn.soft_logic import binarization_penalty, set_straight_through, set_temperature, soft_layers

__all__ = ["AnnealConfig", "AnnealResult", "anneal_fit", "LOSSES", "ScheduledTemperatures"]


@dataclass(frozen=True)
class AnnealConfig:
    """How :func:`anneal_fit` trains.

    ``tau`` / ``select_tau``: schedules over epochs (None keeps the layers'
    values); ``penalty``: weight of :func:`~nandc.nn.soft_logic.binarization_penalty`;
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


class ScheduledTemperatures(Recipe):
    """A recipe whose ``config`` has ``tau`` / ``select_tau`` schedules over epochs (or None): the soft
    layers' temperatures follow them at every batch.  Shared by annealing and ADMM."""

    def __init__(self, config):
        self.config = config

    def temperatures(self, epoch: float) -> tuple[float | None, float | None]:
        """``(tau, select_tau)`` at a (fractional) epoch; None where there is no schedule."""
        c = self.config
        return (None if c.tau is None else c.tau(epoch)), (None if c.select_tau is None else c.select_tau(epoch))

    def apply_schedules(self, model, epoch: float) -> None:
        set_temperature(model, *self.temperatures(epoch))

    def before_batch(self, model, epoch: float) -> None:
        self.apply_schedules(model, epoch)


class _Anneal(ScheduledTemperatures):
    """Temperatures by schedule at every batch, the binarization penalty, straight-through last epochs."""

    def begin_epoch(self, model, epoch: int, batches: int) -> None:
        set_straight_through(model, epoch >= self.config.epochs - self.config.hard_epochs)

    def penalty(self, model):
        return self.config.penalty * binarization_penalty(model) if self.config.penalty else None

    def finish(self, model) -> None:
        set_straight_through(model, False)
        self.apply_schedules(model, self.config.epochs)
        for layer in soft_layers(model):
            layer.last_penalty = None


def anneal_fit(model, x: np.ndarray, y: np.ndarray, config: AnnealConfig = AnnealConfig(),
               progress: bool = False, desc: str = "annealing") -> AnnealResult:
    """Train ``model`` in place with Adam (the loop of :func:`nandc.nn.training.train`); returns an :class:`AnnealResult`.

    Requires: ``model`` contains soft logic layers (else there is nothing to
    anneal); ``x`` float inputs, ``y`` class labels (or 0/1 target rows for
    ``"bit_cross_entropy"``).  Ensures: the temperatures end at the
    schedules' final values, straight-through mode is off again, and the
    model is in eval mode.
    """
    if not soft_layers(model):
        raise LogicConfigError("anneal_fit: the model has no soft logic layer (SoftNAND or LogicLayer) to train")
    data = Rows(x, y, config.batch_size, target_dtype=LOSSES[config.loss][2])
    recipe = _Anneal(config)
    result = train(model, data, epochs=config.epochs, lr=config.lr, loss=config.loss, seed=config.seed,
                   recipe=recipe, progress=progress, desc=desc)
    return AnnealResult(config.epochs, result.final_loss, result.train_accuracy,
                        *recipe.temperatures(config.epochs), result.seconds)
