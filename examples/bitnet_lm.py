"""A BitNet b1.58 character language model on Python's own source code: train, compile, generate.

    python examples/bitnet_lm.py                  # about 10 minutes on 2 cores
    python examples/bitnet_lm.py --steps 200 --d-model 32 --context 32

The model (``nandc.lab.zoo.bitnet_lm``) is a decoder-only transformer whose
eval-mode forward pass is exact integer arithmetic: ternary linear layers
over int8 absmax codes, per-head int8 queries, keys and values, a base-2
table softmax (see ``nandc.nn.transformer``).  It trains on the standard
library's ``.py`` files, compiles to a staged program (every linear layer a
NAND netlist run once per token; attention between them as exact integer
data movement), and then generates text greedily twice, through torch and
through the netlists; the two texts must be equal character for character.
"""

from __future__ import annotations

import argparse
import time
from typing import NamedTuple

import numpy as np


class Outcome(NamedTuple):
    compiled: object
    bits_per_char: float
    positions_checked: int
    mismatches: int  # positions whose logits differ between netlists and torch (must be 0)
    generations_equal: bool
    samples: tuple[tuple[str, str], ...]  # (prompt, generated text)


PROMPTS = ("def ", "import ", "class ", "    return ")


def main(argv=None) -> Outcome:
    import torch

    import nandc
    from nandc.lab import datasets, zoo
    from nandc.backends.report import format_text
    from nandc.nn.training import bits_per_char, fit_language_model

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d-model", type=int, default=48)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=48)
    p.add_argument("--steps", type=int, default=800, help="training steps of 32 windows (default: 800)")
    p.add_argument("--chars", type=int, default=2_000_000, help="characters of source text (default: 2M)")
    p.add_argument("--generate", type=int, default=80, help="characters to generate per prompt")
    p.add_argument("--check", type=int, default=24, help="held-out windows checked logit by logit")
    p.add_argument("-O", dest="opt", default="1", choices=("0", "1", "2", "3"),
                   help="optimization level of each kernel (default: 1, which compiles fastest)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    echo = (lambda *a: None) if args.quiet else print

    corpus = datasets.load_python_source(args.chars)
    torch.manual_seed(0)
    model = zoo.bitnet_lm(corpus.vocab, args.d_model, args.layers, args.heads, args.context)
    fitted = fit_language_model(model, corpus.train, steps=args.steps, progress=not args.quiet)
    bpc = bits_per_char(model, corpus.test)
    echo(f"trained {args.steps} steps in {fitted.seconds:.0f} s; held-out {bpc:.3f} bits per character")

    t0 = time.perf_counter()
    compiled = nandc.compile(model, torch.zeros(1, args.context, dtype=torch.long), passes=f"O{args.opt}",
                             staged=True, progress=not args.quiet)
    echo(f"compiled to {len(compiled.program.stages)} kernels, {compiled.num_gates:,} NAND2 gates, "
         f"{compiled.gate_evaluations / args.context:,.0f} gate evaluations per token "
         f"in {time.perf_counter() - t0:.0f} s")

    # every held-out position: the netlists' logits are torch's
    starts = np.arange(min(args.check, (len(corpus.test) - 1) // args.context)) * args.context
    ids = corpus.test[starts[:, None] + np.arange(args.context)[None, :]]
    out = compiled.run(ids)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids))
    same = (compiled.to_torch_output(out["logits"]) == ref).all(-1).numpy()
    mismatches = int((~same).sum())
    echo(f"logits equal to torch's at {int(same.sum())}/{same.size} held-out positions")

    samples, equal = [], True
    for prompt in PROMPTS:
        tokens = list(corpus.encode(prompt))
        by_netlists = zoo.generate_greedy(compiled, tokens, len(tokens) + args.generate)
        by_torch = zoo.generate_greedy(model, tokens, len(tokens) + args.generate)
        equal &= by_netlists == by_torch
        samples.append((prompt, corpus.decode(by_netlists)))
        echo(f"--- {prompt!r} (netlists {'==' if by_netlists == by_torch else '!='} torch)\n"
             f"{corpus.decode(by_netlists)}")
    echo(format_text(compiled.report()))
    return Outcome(compiled, bpc, same.size, mismatches, equal, tuple(samples))


if __name__ == "__main__":
    main()
