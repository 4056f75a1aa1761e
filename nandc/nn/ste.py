"""Straight-through estimators whose forward values are exact.

Every quantizer here returns ``q + (x - x.detach())``-style expressions: the
forward value is exactly the quantized ``q`` (adding an exact zero), while the
gradient flows through ``x``.  Exactness of the forward pass is what lets the
compiled circuit reproduce eval-mode inference bit for bit.
"""

from __future__ import annotations

import torch

__all__ = ["sign_ste", "round_ste", "pow2_step", "float32_step"]


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    """+1 where ``x >= 0``, -1 elsewhere; gradient of hardtanh (1 inside [-1, 1], else 0)."""
    hard = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    clipped = x.clamp(-1.0, 1.0)
    return hard.detach() + (clipped - clipped.detach())


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round half to even; identity gradient."""
    return torch.round(x).detach() + (x - x.detach())


def pow2_step(step: float) -> float:
    """Check that ``step`` is a power of two (so scaling by it is exact) and return it."""
    import math

    if step <= 0 or not math.isfinite(step):
        raise ValueError(f"quantizer step must be a positive power of two, found {step}")
    m, _ = math.frexp(step)
    if m != 0.5:
        raise ValueError(f"quantizer step must be a power of two (e.g. 1/16), found {step}")
    return float(step)


def float32_step(step: float) -> float:
    """Check that ``step`` is a positive finite number and return its float32 value.

    Codes times a step that is not a power of two are not exact in floating
    point; nandc keeps their *integer view* (see :mod:`nandc.frontend.reference`),
    and the float32 value is the step torch multiplies by.
    """
    import math

    import numpy as np

    if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
        raise ValueError(f"quantizer step must be a positive number, found {step}")
    value = float(np.float32(step))
    if value == 0 or not math.isfinite(value):
        raise ValueError(f"quantizer step must be a float32 number above 0, found {step}")
    return value
