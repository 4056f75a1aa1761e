"""Regenerate nandc/data/nand4.txt, the shipped NAND2 programs of 4-input functions.

    python scripts/gen_nand4_table.py nandc/data/nand4.txt            # rebuild [constructed]
    python scripts/gen_nand4_table.py nandc/data/nand4.txt --search   # also search missing [table] classes (slow)

See nandc.synth.tablegen for what the two sections hold.
"""

from nandc.synth.tablegen import main

if __name__ == "__main__":
    main()
