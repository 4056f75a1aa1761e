"""Regenerate nandc/data/aig4.txt, the shipped AIGs of the 222 NPN classes of 4-input functions.

    python scripts/gen_aig4_table.py nandc/data/aig4.txt [conflicts]

Exact synthesis by SAT (nandc.synth.aig4.synthesize_aig) per class; takes minutes.
"""

import sys
import time

from nandc.synth.aig4 import evaluate_structure, npn_classes, synthesize_aig, table_text
from nandc.synth.truth import MASK, VAR


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0]
    conflicts = int(argv[1]) if len(argv) > 1 else 100000
    entries = {}
    for canon in npn_classes():
        if canon in (0, MASK) or any(canon in (v, v ^ MASK) for v in VAR):
            continue
        t0 = time.time()
        s, proved = synthesize_aig(canon, conflicts=conflicts)
        assert s is not None and evaluate_structure(s) == canon, hex(canon)
        entries[canon] = (proved, s)
        print(f"{canon:04x} {s.size} {'proved' if proved else 'best found'} {time.time() - t0:.1f}s", flush=True)
        with open(path, "w") as f:
            f.write(table_text(entries))


if __name__ == "__main__":
    main()
