"""Trainable quantized layers to put in a model that nandc will compile.

Binary: :class:`BinaryLinear`, :class:`BinaryConv2d`, :class:`SignActivation`,
:class:`InputBinarize`.  4-bit: :class:`Int4Linear`, :class:`Int4Conv2d`,
:class:`ReLUQuant`, :class:`ActQuant`, :class:`InputQuant`.  Ternary (BitNet b1.58): :class:`TernaryLinear`.
Multiple Boolean kernels: :class:`MBOKLinear`, :class:`MBOKConv2d`.
Imported difflogic models: :func:`from_difflogic`.  Convolutional logic: :class:`LogicConv2d`,
:class:`BooleanConv2d`, :class:`OrPool2d`, :class:`ThresholdInput`.
Transformers (exact fixed point, :mod:`nandc.nn.transformer`): :class:`TokenEmbedding`,
:class:`HeadQuant`, :class:`FixedPointAttention`, :class:`MBOKBitLinear`, :class:`LanguageModel`.

Every layer trains with straight-through estimators and computes, in eval
mode, exactly what the compiled circuit computes.  Importing this package
imports torch.
"""

from nandc.nn.base import Codes, InputQuantizer, QuantAccumulator, QuantActivation
from nandc.nn.binary import BinaryConv2d, BinaryLinear, InputBinarize, SignActivation
from nandc.nn.int4 import ActQuant, InputQuant, Int4Conv2d, Int4Linear, ReLUQuant
from nandc.nn.ternary import TernaryLinear
from nandc.nn.mbok import MBOKConv2d, MBOKLinear
from nandc.nn.transformer import (FixedPointAttention, HeadQuant, LanguageModel, MBOKBitLinear,
                                  TokenEmbedding)

__all__ = [
    "Codes", "InputQuantizer", "QuantAccumulator", "QuantActivation",
    "BinaryConv2d", "BinaryLinear", "InputBinarize", "SignActivation",
    "InputQuant", "Int4Conv2d", "Int4Linear", "ReLUQuant", "ActQuant", "TernaryLinear", "MBOKConv2d", "MBOKLinear",
    "TokenEmbedding", "HeadQuant", "FixedPointAttention", "MBOKBitLinear", "LanguageModel",
]
from nandc.nn.logic import *  # noqa: F401,F403,E402  soft-NAND / learned-gate layers, see nandc.nn.logic.__all__
from nandc.nn import logic as _logic  # noqa: E402

__all__ += list(_logic.__all__)
from nandc.nn.conv_logic import BooleanConv2d, LogicConv2d, OrPool2d, ThresholdInput  # noqa: E402  convolutional logic

__all__ += ["BooleanConv2d", "LogicConv2d", "OrPool2d", "ThresholdInput"]
from nandc.nn.difflogic_import import from_difflogic  # noqa: E402

__all__ += ["from_difflogic"]
