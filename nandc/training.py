"""A small, honest training loop for nandc models (Adam, cross-entropy, progress bar)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FitResult", "fit", "fit_language_model", "bits_per_char", "accuracy", "torch_predict"]


@dataclass(frozen=True)
class FitResult:
    epochs: int
    final_loss: float
    train_accuracy: float
    seconds: float


def _clip_binary_weights(model) -> None:
    """Keep latent binary weights in [-1, 1] (the straight-through gradient vanishes outside)."""
    import torch

    from nandc.nn import BinaryConv2d, BinaryLinear

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (BinaryLinear, BinaryConv2d)):
                m.weight.clamp_(-1.0, 1.0)


def fit(model, x: np.ndarray, y: np.ndarray, epochs: int = 10, lr: float = 1e-2, batch_size: int = 64,
        seed: int = 0, progress: bool = True, desc: str = "training") -> FitResult:
    """Train ``model`` in place on numpy arrays; shows a tqdm bar unless ``progress=False``."""
    import time

    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    loss_fn = torch.nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    model.train()
    loss_value, correct = float("nan"), 0
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
    for _ in bar:
        order = torch.from_numpy(gen.permutation(len(xt)))
        total, correct = 0.0, 0
        for i in range(0, len(xt), batch_size):
            idx = order[i:i + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            out = model(xt[idx])
            loss = loss_fn(out, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            _clip_binary_weights(model)
            total += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == yt[idx]).sum())
        sched.step()
        loss_value = total / len(xt)
        bar.set_postfix(loss=f"{loss_value:.3f}", acc=f"{correct / len(xt):.3f}")
    model.eval()
    return FitResult(epochs, loss_value, correct / max(1, len(xt)), time.perf_counter() - t0)


def torch_predict(model, x: np.ndarray, batch_size: int = 4096):
    """Eval-mode outputs of ``model`` on a numpy batch (a float32 torch tensor)."""
    import torch

    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size], dtype=np.float32))))
    return torch.cat(outs) if outs else torch.zeros(0)


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(labels))) if len(labels) else float("nan")


def _windows(tokens: np.ndarray, context: int, starts: np.ndarray):
    import torch

    idx = starts[:, None] + np.arange(context + 1)[None, :]
    chunk = torch.from_numpy(tokens[idx])
    return chunk[:, :-1], chunk[:, 1:]


def fit_language_model(model, tokens: np.ndarray, steps: int = 2000, batch_size: int = 32, lr: float = 3e-3,
                       seed: int = 0, progress: bool = True, desc: str = "training") -> FitResult:
    """Next-token training on random windows of ``model.context`` tokens (Adam, cosine schedule)."""
    import time

    import torch
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    gen = np.random.default_rng(seed)
    context = model.context
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    t0 = time.perf_counter()
    model.train()
    loss_value = float("nan")
    bar = tqdm(range(steps), desc=desc, unit="step", disable=not progress, leave=False)
    for step in bar:
        x, y = _windows(tokens, context, gen.integers(0, len(tokens) - context - 1, size=batch_size))
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, model.vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        loss_value = 0.98 * loss_value + 0.02 * value if step else value
        if step % 50 == 0:
            bar.set_postfix(loss=f"{loss_value:.3f}")
    model.eval()
    return FitResult(steps, loss_value, float("nan"), time.perf_counter() - t0)


def bits_per_char(model, tokens: np.ndarray, max_windows: int = 256) -> float:
    """Mean next-token cross-entropy in bits over non-overlapping windows of the held-out ``tokens``."""
    import math

    import torch

    context = model.context
    count = min(max_windows, (len(tokens) - 1) // context)
    x, y = _windows(tokens, context, np.arange(count) * context)
    model.eval()
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, model.vocab).double(), y.reshape(-1))
    return float(loss) / math.log(2)
