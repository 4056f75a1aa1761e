"""The synthesis engines under the passes and ``nandc verify``.

Everything here works on :mod:`nandc.ir` circuits and knows nothing of
passes, pipelines or models:

* :mod:`~nandc.synth.truth` -- truth tables of up to 4 variables, canonical forms;
* :mod:`~nandc.synth.cuts` -- priority cuts;
* :mod:`~nandc.synth.cost` -- the one phase-aware NAND2 cost view;
* :mod:`~nandc.synth.simulation` -- bit-parallel simulation of every node;
* :mod:`~nandc.synth.exact`, :mod:`~nandc.synth.library` -- exact synthesis and the
  library of smallest 4-input NAND2 programs (its table is ``nandc/data/nand4.txt``);
* :mod:`~nandc.synth.factor` -- covers (espresso) and factored forms;
* :mod:`~nandc.synth.resynth` -- replacing cones by NAND2 programs;
* :mod:`~nandc.synth.rebuild` -- the hash-consing rebuild every engine ends with;
* :mod:`~nandc.synth.fraig` -- the SAT engine of sweeping and equivalence checking;
* :mod:`~nandc.synth.equiv` -- combinational equivalence (``nandc verify``);
* :mod:`~nandc.synth.tablegen` -- regenerates the 4-input table;
* :mod:`~nandc.synth.symmetric` -- recognizing threshold functions of many inputs in any structure;
* :mod:`~nandc.synth.kernels` -- the hot loops of cuts, mapping, rewriting and refactoring compiled
  with numba (the same results as the Python loops); :mod:`~nandc.synth.compiled` says when
  they are used, without importing numba.

Submodules are imported on use; ``import nandc.synth`` loads nothing else.
"""
