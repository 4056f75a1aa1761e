"""Ready-made soft logic networks (named layers, so gate reports read well).

* :func:`logic_classifier` — bits in, ``len(widths)`` layers of soft gates,
  a :class:`~nandc.nn.hard_logic.GroupSum` head: a classifier that hardens into
  a pure gate network plus one popcount per class.
* :func:`soft_nand_network` — bits in, bits out: what
  :func:`nandc.lab.experiment.learn_truth_table` trains.

Both start with ``InputQuant(bits=1, step=1.0)``: inputs in [0, 1] are
rounded to 0/1 (0.5 rounds to 0), the bits the first gate layer reads.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

from torch import nn

from nandc.nn.hard_logic import GroupSum
from nandc.nn.gate_functions import LogicConfigError
from nandc.nn.int4 import InputQuant
from nandc.nn.soft_logic import LogicLayer, SoftNAND

__all__ = ["GATE_KINDS", "logic_classifier", "soft_nand_network"]

#: gate layer classes by name (the example's ``--gate`` flag)
GATE_KINDS = {"nand": SoftNAND, "logic": LogicLayer}


def _gate_layers(kind: str, in_features: int, widths: Sequence[int], passthrough: bool, seed: int,
                 **layer_options) -> tuple[list[tuple[str, nn.Module]], int]:
    """``(named layers, output width)``; every layer but the last passes its input through if asked."""
    cls = GATE_KINDS.get(kind)
    if cls is None:
        raise LogicConfigError(f"unknown gate kind {kind!r}; expected one of {', '.join(GATE_KINDS)}")
    if not widths or any(int(w) < 1 for w in widths):
        raise LogicConfigError(f"gate layer widths must be positive integers, found {list(widths)}")
    layers, width = [], int(in_features)
    for i, w in enumerate(widths, 1):
        layer = cls(width, int(w), passthrough=passthrough and i < len(widths), seed=seed * 1000 + i,
                    **layer_options)
        layers.append((f"gates{i}", layer))
        width = layer.width
    return layers, width


def logic_classifier(in_features: int, widths: Sequence[int], classes: int, gate: str = "nand",
                     group_tau: float = 1.0, passthrough: bool = True, seed: int = 0, **layer_options):
    """``input -> gates1 .. gatesN -> groups``: soft gate layers and a ``classes``-group count head.

    ``gate`` is ``"nand"`` (:class:`SoftNAND`) or ``"logic"``
    (:class:`LogicLayer`); ``layer_options`` go to every gate layer
    (``candidates``, ``tau``, ``init_std`` ...).  ``passthrough`` lets every
    layer but the last also output its input (skip connections, free in
    gates).  The last width must be a multiple of ``classes``.
    """
    if not widths or int(classes) < 1 or int(widths[-1]) % int(classes):
        raise LogicConfigError(
            f"the last gate layer's width must be a positive multiple of {classes} classes, found {list(widths)}"
        )
    gates, _ = _gate_layers(gate, in_features, widths, passthrough, seed, **layer_options)
    return nn.Sequential(OrderedDict([("input", InputQuant(bits=1, step=1.0)), *gates,
                                      ("groups", GroupSum(classes, tau=group_tau))]))


def soft_nand_network(inputs: int, outputs: int, widths: Sequence[int] = (16,) * 7, seed: int = 0,
                      **layer_options):
    """``input -> gates1 .. gatesN -> out``: SoftNAND layers with passthrough, then ``outputs`` gates.

    Passthrough lets each layer read every earlier signal (the inputs too),
    so any NAND circuit of depth ``len(widths) + 1`` that fits is
    representable; the outputs are the last layer's gates.
    """
    gates, width = _gate_layers("nand", inputs, tuple(widths) + (outputs,), True, seed, **layer_options)
    gates[-1] = ("out", gates[-1][1])
    return nn.Sequential(OrderedDict([("input", InputQuant(bits=1, step=1.0)), *gates]))
