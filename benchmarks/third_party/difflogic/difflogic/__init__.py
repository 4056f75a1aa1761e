from .difflogic import LogicLayer, GroupSum
from .packbitstensor import PackBitsTensor
from .compiled_model import CompiledLogicNet

