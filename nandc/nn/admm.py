"""Slack-variable training of soft gate networks: an augmented-Lagrangian (ADMM) loop.

The second recipe beside annealing (:mod:`nandc.nn.anneal`).  Every
discrete choice of a soft network — which input each pin reads (wiring
logits ``theta`` of shape ``(..., k)``, probabilities
``w = softmax(theta / select_tau)``) and, for a
:class:`~nandc.nn.soft_logic.LogicLayer`, which of the 16 functions each gate
computes (``softmax(function_logits / tau)``) — gets an auxiliary binary
variable ``z``: a one-hot vector, i.e. ``z in {0, 1}^k`` with one 1.  The
problem "minimize the loss subject to ``w = z``" is solved in scaled ADMM
form with the augmented Lagrangian

    L(theta, z, u) = loss(theta) + rho / 2 * mean_v ||w_v(theta) - z_v + u_v||^2

(mean over the choice variables ``v``):

* theta-step: Adam steps on ``L`` over the epoch's batches (the smooth surrogate),
* z-step: ``z = onehot(argmax(w + u))``, the projection onto the binary one-hot set,
* dual update: ``u += w - z``,
* rising penalty: ``rho *= rho_growth`` after every z-step, up to ``rho_max``.

Every z is a discrete network; with ``keep_best`` (default) the z-step
also scores the network it names and the network ``harden`` would give
now (the argmax of each ``w``) by the hardened forward on the training
rows, and keeps the best one seen (ties go to the later).  At the end, when
that network scores strictly better than the final one, the logits are put
on it (as the snap does), so ``harden`` returns the best network seen.

Around it, the recipe's other parts:

* truth-table curriculum with jitter (``curriculum_epochs > 0``): the rows
  (samples) come in a fixed random order and only the first fraction
  ``curriculum_start -> 1`` (linear over ``curriculum_epochs``) is trained
  on; each row not yet admitted still joins an epoch with probability
  ``jitter``, so the boundary of the curriculum is soft;
* proximal snap (``snap_epochs > 0``): in the last epochs, after every
  optimizer step, every choice whose largest probability is at least a
  threshold is put exactly on its hard point (its logits become
  ``temperature * (snap_margin + log k)`` at the argmax and 0 elsewhere, a
  probability of at least ``1 / (1 + exp(-snap_margin))``): the proximal
  map of a hard-thresholding penalty.  The threshold falls linearly from 1
  to 0 over the snap epochs, so confident choices freeze first, the
  undecided keep learning, and training ends on a hard network;
* Gumbel-softmax (``gumbel > 0``): the theta-steps sample the choices with
  Gumbel noise of that scale on the logits (``hard_gumbel`` is not offered:
  the snap phase ends training on the hard choice instead).

``admm_fit`` trains in place; ``nandc.lab.experiment.learn_truth_table(..., trainer="admm")``
learns a truth table with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from nandc.nn.anneal import ScheduledTemperatures
from nandc.nn.training import LOSSES, Rows, train
from nandc.nn.gate_functions import LogicConfigError
from nandc.nn.schedules import ExponentialSchedule, Schedule
from nandc.nn.soft_logic import LogicLayer, soft_layers

__all__ = ["ADMMConfig", "ADMMResult", "admm_fit", "TRUTH_TABLE_ADMM",
           "choice_variables", "hard_choices"]


@dataclass(frozen=True)
class ADMMConfig:
    """How :func:`admm_fit` trains (see the module docstring for the meaning of each part).

    ``z_every``: epochs between z-steps (and dual updates); ``rho`` /
    ``rho_growth`` / ``rho_max``: the penalty's start, factor per z-step and
    cap; ``tau`` / ``select_tau``: optional temperature schedules as in
    :class:`~nandc.nn.anneal.AnnealConfig`; ``loss``: a key of
    :data:`nandc.nn.anneal.LOSSES`.
    """

    epochs: int = 200
    lr: float = 0.1
    batch_size: int = 128
    rho: float = 0.05
    rho_growth: float = 1.05
    rho_max: float = 50.0
    z_every: int = 1
    tau: Schedule | None = None
    select_tau: Schedule | None = None
    curriculum_epochs: int = 0
    curriculum_start: float = 0.25
    jitter: float = 0.1
    snap_epochs: int = 0
    snap_margin: float = 6.0
    gumbel: float = 0.0
    keep_best: bool = True
    loss: str = "cross_entropy"
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.z_every < 1:
            raise LogicConfigError(
                f"ADMMConfig: epochs, batch_size and z_every must be positive, found "
                f"{self.epochs}, {self.batch_size}, {self.z_every}"
            )
        if not (self.rho > 0 and self.rho_growth >= 1 and self.rho_max >= self.rho):
            raise LogicConfigError(
                f"ADMMConfig: need rho > 0, rho_growth >= 1 and rho_max >= rho, found rho={self.rho}, "
                f"rho_growth={self.rho_growth}, rho_max={self.rho_max}"
            )
        if not (0 <= self.curriculum_epochs <= self.epochs and 0 <= self.snap_epochs <= self.epochs):
            raise LogicConfigError(
                f"ADMMConfig: curriculum_epochs and snap_epochs must be in 0..epochs ({self.epochs}), "
                f"found {self.curriculum_epochs}, {self.snap_epochs}"
            )
        if not (0 < self.curriculum_start <= 1 and 0 <= self.jitter <= 1):
            raise LogicConfigError(
                f"ADMMConfig: curriculum_start must be in (0, 1] and jitter in [0, 1], found "
                f"{self.curriculum_start}, {self.jitter}"
            )
        if not (self.gumbel >= 0 and self.snap_margin > 0):
            raise LogicConfigError(
                f"ADMMConfig: gumbel must be >= 0 and snap_margin > 0, found {self.gumbel}, {self.snap_margin}"
            )
        if self.loss not in LOSSES:
            raise LogicConfigError(f"ADMMConfig: unknown loss {self.loss!r}; expected one of {', '.join(LOSSES)}")


@dataclass(frozen=True)
class ADMMResult:
    """What :func:`admm_fit` did: last epoch's loss and accuracy, the final penalty and gap, time.

    ``disagreement``: fraction of choice variables whose hardened choice
    (argmax of the logits) differs from the last ``z`` at the end.
    """

    epochs: int
    final_loss: float
    train_accuracy: float
    rho: float
    disagreement: float
    seconds: float


@dataclass
class _Choice:
    """One group of categorical choices: ``logits`` ``(..., k)``, its temperature, ``z`` and ``u``."""

    logits: torch.nn.Parameter
    temperature: Callable[[], float]
    z: torch.Tensor
    u: torch.Tensor

    def probabilities(self) -> torch.Tensor:
        return torch.softmax(self.logits / self.temperature(), -1)


def choice_variables(model) -> list[tuple[torch.nn.Parameter, Callable[[], float]]]:
    """``(logits, temperature)`` of every discrete choice of ``model``'s soft layers (wiring, functions)."""
    out = []
    for layer in soft_layers(model):
        if layer.pins.logits is not None:
            out.append((layer.pins.logits, lambda layer=layer: layer.select_tau))
        if isinstance(layer, LogicLayer):
            out.append((layer.function_logits, lambda layer=layer: layer.tau))
    return out


def _one_hot_argmax(v: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(v.argmax(-1), v.shape[-1]).to(v.dtype)


def hard_choices(model) -> list[torch.Tensor]:
    """The one-hot choice of every choice variable as :func:`~nandc.nn.harden` would make it."""
    return [_one_hot_argmax(logits.detach()) for logits, _ in choice_variables(model)]


def _snap(c: _Choice, threshold: float, margin: float) -> None:
    """Put every choice of ``c`` whose largest probability is >= ``threshold`` on its hard point."""
    p = c.probabilities()
    top = p.max(-1, keepdim=True).values >= threshold
    k = c.logits.shape[-1]
    hard = _one_hot_argmax(c.logits) * (c.temperature() * (margin + float(np.log(k))))
    c.logits.copy_(torch.where(top, hard, c.logits))


def _curriculum_rows(config: ADMMConfig, epoch: int, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if not config.curriculum_epochs:
        return order
    frac = config.curriculum_start + (1 - config.curriculum_start) * min(1.0, epoch / config.curriculum_epochs)
    m = max(1, int(round(frac * len(order))))
    extra = order[m:][rng.random(len(order) - m) < config.jitter]
    return np.concatenate([order[:m], extra])


def _score_choices(model, choices: list[_Choice], z: list[torch.Tensor], xt, yt, hits_fn,
                   batch_size: int = 8192) -> int:
    """Correct training rows of the discrete network whose choices are ``z`` (the hardened forward)."""
    from nandc.nn.soft_logic import set_straight_through

    saved = [c.logits.detach().clone() for c in choices]
    was_training = model.training
    hits = 0
    try:
        with torch.no_grad():
            for c, zc in zip(choices, z):
                c.logits.copy_(zc)
            set_straight_through(model, True)
            model.eval()
            for i in range(0, len(xt), batch_size):
                hits += hits_fn(model(xt[i:i + batch_size]), yt[i:i + batch_size])
    finally:
        set_straight_through(model, False)
        with torch.no_grad():
            for c, s in zip(choices, saved):
                c.logits.copy_(s)
        model.train(was_training)
    return hits


class _ADMM(ScheduledTemperatures):
    """The ADMM recipe as hooks of the one loop: curriculum rows, penalty, snap, z-steps, best network."""

    def __init__(self, config: ADMMConfig, data: Rows):
        super().__init__(config)
        self.data = data
        self.hits_fn = LOSSES[config.loss][1]

    def begin(self, model, rng: np.random.Generator, n: int) -> None:
        self.rng = rng
        self.apply_schedules(model, 0)
        with torch.no_grad():
            self.choices = [_Choice(p, t, _one_hot_argmax(p.detach()), torch.zeros_like(p))
                            for p, t in choice_variables(model)]
        self.count = sum(c.z.numel() // c.z.shape[-1] for c in self.choices)
        self.best_z, self.best_score = [c.z.clone() for c in self.choices], -1
        self.scored: list[list[torch.Tensor]] = []
        self.row_order = rng.permutation(n)
        self.rho = self.config.rho
        self.snap_steps = self.snap_total = 0
        self.snapping = False
        for layer in soft_layers(model):
            layer.gumbel = self.config.gumbel

    def epoch_rows(self, epoch: int, n: int, rng: np.random.Generator) -> np.ndarray:
        # the curriculum admits rows in one fixed random order, then the epoch's rows are shuffled
        return rng.permutation(_curriculum_rows(self.config, epoch, self.row_order, rng))

    def begin_epoch(self, model, epoch: int, batches: int) -> None:
        self.snapping = epoch >= self.config.epochs - self.config.snap_epochs
        if self.snapping and self.snap_steps == 0:
            self.snap_total = self.config.snap_epochs * batches

    def penalty(self, model):
        gap = sum(((c.probabilities() - c.z + c.u) ** 2).sum() for c in self.choices) / self.count
        return 0.5 * self.rho * gap

    def after_step(self, model) -> None:
        if self.snapping:  # proximal hard-thresholding: confident choices onto their hard points
            self.snap_steps += 1
            threshold = 1.0 - min(1.0, self.snap_steps / self.snap_total)
            with torch.no_grad():
                for c in self.choices:
                    _snap(c, threshold, self.config.snap_margin)

    def end_epoch(self, model, epoch: int) -> None:
        c = self.config
        if (epoch + 1) % c.z_every or self.snapping:
            return
        with torch.no_grad():
            for ch in self.choices:
                w = ch.probabilities()
                ch.z = _one_hot_argmax(w + ch.u)
                ch.u += w - ch.z
        self.rho = min(c.rho_max, self.rho * c.rho_growth)
        if c.keep_best:
            with torch.no_grad():
                now = [_one_hot_argmax(ch.logits.detach()) for ch in self.choices]
            for cand in (now, [ch.z for ch in self.choices]):
                if any(all(torch.equal(a, b) for a, b in zip(cand, seen)) for seen in self.scored):
                    continue  # the same network as one scored at this z-step or the last
                score = self.score(model, cand)
                self.scored.append([t.clone() for t in cand])
                if score >= self.best_score:
                    self.best_z, self.best_score = [t.clone() for t in cand], score
            self.scored = self.scored[-2:]

    def score(self, model, z: list[torch.Tensor]) -> int:
        return _score_choices(model, self.choices, z, self.data.x, self.data.y, self.hits_fn)

    def postfix(self) -> dict[str, str]:
        return {"rho": f"{self.rho:.3g}"}

    def complete(self, model) -> None:
        self.apply_schedules(model, self.config.epochs)
        if self.config.keep_best and self.best_score >= 0:
            with torch.no_grad():
                final = [_one_hot_argmax(c.logits.detach()) for c in self.choices]
            if self.score(model, final) < self.best_score:
                with torch.no_grad():
                    for c, zb in zip(self.choices, self.best_z):
                        c.logits.copy_(zb)
                        _snap(c, 0.0, self.config.snap_margin)

    def finish(self, model) -> None:
        for layer in soft_layers(model):
            layer.gumbel = 0.0
            layer.last_penalty = None
        self.apply_schedules(model, self.config.epochs)


def admm_fit(model, x: np.ndarray, y: np.ndarray, config: ADMMConfig = ADMMConfig(),
             progress: bool = False, desc: str = "ADMM") -> ADMMResult:
    """Train ``model`` in place by the slack-variable ADMM loop; returns an :class:`ADMMResult`.

    The loop is :func:`nandc.nn.training.train`; ADMM is its recipe.  Requires:
    ``model`` has soft layers with at least one learned choice (learned
    wiring or LogicLayer functions).  Ensures: temperatures end at the
    schedules' final values, Gumbel noise is off again, the model is in
    eval mode; with ``snap_epochs > 0`` every choice ends on a hard point
    (largest probability at least ``1 / (1 + exp(-snap_margin))``); with
    ``keep_best`` the hardened network scores on the training rows at least
    as well as every network scored at a z-step.
    """
    if not choice_variables(model):
        raise LogicConfigError("admm_fit: the model has no learned choice (soft layers with learned wiring "
                               "or LogicLayer functions) to constrain")
    data = Rows(x, y, config.batch_size, target_dtype=LOSSES[config.loss][2])
    recipe = _ADMM(config, data)
    result = train(model, data, epochs=config.epochs, lr=config.lr, loss=config.loss, seed=config.seed,
                   recipe=recipe, progress=progress, desc=desc)
    with torch.no_grad():
        differ = sum(int((c.logits.argmax(-1) != c.z.argmax(-1)).sum()) for c in recipe.choices)
    return ADMMResult(config.epochs, result.final_loss, result.train_accuracy, recipe.rho,
                      differ / recipe.count, result.seconds)


#: truth-table defaults: full batch; the penalty starts negligible and rises 5% an epoch (to 100), the
#: curriculum admits 75% -> 100% of the rows over 50 epochs, the snap takes the last 10 epochs
TRUTH_TABLE_ADMM = ADMMConfig(
    epochs=250, lr=0.2, batch_size=1 << 16, rho=1e-3, rho_growth=1.05, rho_max=100.0,
    tau=ExponentialSchedule(0.2, 0.03, 250), curriculum_epochs=50, curriculum_start=0.75, jitter=0.2,
    snap_epochs=10, loss="bit_cross_entropy",
)
