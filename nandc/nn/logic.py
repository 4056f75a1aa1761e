"""Soft logic: differentiable NAND / learned-gate layers that harden into exact gate networks.

Train a network of :class:`SoftNAND` or :class:`LogicLayer` layers (ending
in a :class:`GroupSum` class-count head, or in bits) with
:func:`anneal_fit`, which anneals the gate temperature by a schedule
(:class:`ExponentialSchedule`, :class:`LinearSchedule`,
:class:`CosineSchedule`), optionally adds the binarization penalty
``sum y (1 - y)`` and ends with straight-through hardening.  Then
``harden(model)`` replaces every soft layer by an exact
:class:`BooleanLayer`, which ``nandc.compile`` turns into gates one for one
(a hardened SoftNAND gate is one NAND2).  :class:`TruthTable` holds a Boolean
function; :func:`nandc.experiment.learn_truth_table` (above the compiler)
learns it and proves the result exact.  :func:`admm_fit` is the second
recipe: slack variables solved by ADMM (:mod:`nandc.nn.admm`);
``learn_truth_table(..., trainer="admm")`` uses it.

This module only gathers the public names of the modules that define them.
"""

from nandc.nn.admm import ADMMConfig, ADMMResult, admm_fit
from nandc.nn.anneal import AnnealConfig, AnnealResult, anneal_fit
from nandc.nn.boolean import BooleanLayer, GroupSum
from nandc.nn.gates import FUNCTION_NAMES, LogicConfigError, function_name
from nandc.nn.harden import harden, is_hardened
from nandc.nn.networks import logic_classifier, soft_nand_network
from nandc.nn.schedules import (ConstantSchedule, CosineSchedule, ExponentialSchedule, LinearSchedule,
                                Schedule, make_schedule)
from nandc.nn.soft import (LogicLayer, SoftLogic, SoftNAND, binarization_penalty, set_kernel,
                           set_straight_through, set_temperature)
from nandc.nn.truth_table import FULL_ADDER, XOR, TruthTable, truth_table

__all__ = [
    "AnnealConfig", "AnnealResult", "anneal_fit",
    "ADMMConfig", "ADMMResult", "admm_fit",
    "BooleanLayer", "GroupSum",
    "FUNCTION_NAMES", "LogicConfigError", "function_name",
    "harden", "is_hardened",
    "logic_classifier", "soft_nand_network",
    "ConstantSchedule", "CosineSchedule", "ExponentialSchedule", "LinearSchedule", "Schedule", "make_schedule",
    "LogicLayer", "SoftLogic", "SoftNAND", "binarization_penalty", "set_kernel", "set_straight_through",
    "set_temperature",
    "FULL_ADDER", "XOR", "TruthTable", "truth_table",
]
