"""Trainable quantized layers to put in a model that nandc will compile, and how to train them.

Quantized arithmetic layers (each module named by its number format):

* binary (:mod:`~nandc.nn.binary`): :class:`BinaryLinear`, :class:`BinaryConv2d`,
  :class:`SignActivation`, :class:`InputBinarize`;
* 4-bit (:mod:`~nandc.nn.int4`): :class:`Int4Linear`, :class:`Int4Conv2d`,
  :class:`ReLUQuant`, :class:`ActQuant`, :class:`InputQuant`;
* ternary, BitNet b1.58 (:mod:`~nandc.nn.ternary`): :class:`TernaryLinear`;
* multiple Boolean kernels (:mod:`~nandc.nn.mbok`): :class:`MBOKLinear`, :class:`MBOKConv2d`;
* transformers in exact fixed point (:mod:`~nandc.nn.transformer`):
  :class:`TokenEmbedding`, :class:`HeadQuant`, :class:`FixedPointAttention`,
  :class:`MBOKBitLinear`, :class:`LanguageModel`.

Logic layers (networks of two-input gates):

* the 16 gate functions (:mod:`~nandc.nn.gate_functions`);
* soft, trainable (:mod:`~nandc.nn.soft_logic`): :class:`SoftNAND`,
  :class:`LogicLayer`, and convolutional :class:`LogicConv2d`
  (:mod:`~nandc.nn.conv_logic`);
* hard, exact (:mod:`~nandc.nn.hard_logic`): :class:`BooleanLayer`,
  :class:`GroupSum`, :class:`BooleanConv2d`, :class:`OrPool2d`,
  :class:`ThresholdInput`; ``harden(model)`` turns every soft layer into its
  hard twin, which ``nandc.compile`` maps gate for gate;
* imported difflogic models: :func:`from_difflogic`; Boolean functions:
  :class:`TruthTable` (learned and proved by
  :func:`nandc.lab.experiment.learn_truth_table`, above the compiler).

Training (:mod:`~nandc.nn.training`, the one loop): :func:`fit`,
:func:`fit_language_model`; soft logic by temperature annealing,
:func:`anneal_fit` (schedules :class:`ExponentialSchedule`,
:class:`LinearSchedule`, :class:`CosineSchedule`), or by slack variables,
:func:`admm_fit`.

Every layer trains with straight-through estimators (or soft relaxations)
and computes, in eval mode, exactly what the compiled circuit computes.
Importing this package imports torch.
"""

from nandc.nn.admm import ADMMConfig, ADMMResult, admm_fit
from nandc.nn.anneal import AnnealConfig, AnnealResult, anneal_fit
from nandc.nn.base import Codes, InputQuantizer, QuantAccumulator, QuantActivation
from nandc.nn.binary import BinaryConv2d, BinaryLinear, InputBinarize, SignActivation
from nandc.nn.conv_logic import BooleanConv2d, LogicConv2d, OrPool2d, ThresholdInput
from nandc.nn.difflogic_import import from_difflogic
from nandc.nn.gate_functions import FUNCTION_NAMES, LogicConfigError, function_name
from nandc.nn.hard_logic import BooleanLayer, GroupSum
from nandc.nn.harden import harden, is_hardened
from nandc.nn.int4 import ActQuant, InputQuant, Int4Conv2d, Int4Linear, ReLUQuant
from nandc.nn.mbok import MBOKConv2d, MBOKLinear
from nandc.nn.networks import logic_classifier, soft_nand_network
from nandc.nn.schedules import (ConstantSchedule, CosineSchedule, ExponentialSchedule, LinearSchedule,
                                Schedule, make_schedule)
from nandc.nn.soft_logic import (LogicLayer, SoftLogic, SoftNAND, binarization_penalty, set_kernel,
                                 set_straight_through, set_temperature)
from nandc.nn.ternary import TernaryLinear
from nandc.nn.training import FitResult, fit, fit_language_model
from nandc.nn.transformer import (FixedPointAttention, HeadQuant, LanguageModel, MBOKBitLinear,
                                  TokenEmbedding)
from nandc.nn.truth_table import FULL_ADDER, XOR, TruthTable, truth_table

__all__ = [
    "Codes", "InputQuantizer", "QuantAccumulator", "QuantActivation",
    "BinaryConv2d", "BinaryLinear", "InputBinarize", "SignActivation",
    "InputQuant", "Int4Conv2d", "Int4Linear", "ReLUQuant", "ActQuant", "TernaryLinear", "MBOKConv2d", "MBOKLinear",
    "TokenEmbedding", "HeadQuant", "FixedPointAttention", "MBOKBitLinear", "LanguageModel",
    "FUNCTION_NAMES", "LogicConfigError", "function_name",
    "LogicLayer", "SoftLogic", "SoftNAND", "binarization_penalty", "set_kernel", "set_straight_through",
    "set_temperature",
    "BooleanLayer", "GroupSum", "BooleanConv2d", "LogicConv2d", "OrPool2d", "ThresholdInput",
    "harden", "is_hardened", "logic_classifier", "soft_nand_network", "from_difflogic",
    "FULL_ADDER", "XOR", "TruthTable", "truth_table",
    "FitResult", "fit", "fit_language_model",
    "AnnealConfig", "AnnealResult", "anneal_fit", "ADMMConfig", "ADMMResult", "admm_fit",
    "ConstantSchedule", "CosineSchedule", "ExponentialSchedule", "LinearSchedule", "Schedule", "make_schedule",
]
