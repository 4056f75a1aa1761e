"""Converters, one module per family; importing this package registers them all."""

from nandc.frontend.converters import activation, linear, mbok, pool, quantizer, residual, shape  # noqa: F401
from nandc.frontend.converters import logic  # noqa: F401,E402  (hardened soft-NAND / learned-gate layers)
from nandc.frontend.converters import elementwise, fakequant, qonnx, weights  # noqa: F401,E402  (float layers on integer grids)
from nandc.frontend.converters import sequence  # noqa: F401,E402  (language-model layers)
from nandc.frontend.converters import conv_logic  # noqa: F401,E402  (convolutional logic-gate trees)
