"""Transformer language models on Python source: float vs BitNet b1.58 vs MBOK, compiled and checked.

For each model of the same shape, trained with the same budget (steps of 32
windows) on ``nandc.lab.datasets.load_python_source``:

* held-out bits per character;
* (quantized models) compiled to a staged program, its logits compared with
  torch's on ``--check`` held-out windows (every position), NAND2 gates per
  token by block role (q/k/v/proj projections, feed-forward, absmax
  requantization "norms", head), and tokens/s through the JIT against torch
  float eval of the float model of the same shape and torch eval of the
  quantized model itself (2 threads, best of several runs);
* the compiled gate count of ONE fully gate-level attention query
  (``nandc.frontend.attention``) at the model's context length, scaled to a
  whole layer (every position and head) -- attention runs as exact integer
  data movement in the staged program.

Ratios are measured side by side in one run; no assertions.

    python benchmarks/bench_lm.py [--steps 300] [--d-model 48] [--context 48] [--kernels 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict


def role(layer: str) -> str:
    """The block role of a layer tag: blocks.<i>.<name>[.absmax|.k<k>|.sum] -> a coarse name."""
    parts = layer.split(".")
    if layer.endswith(".absmax") or parts[-1] in ("q8", "k8", "v8"):
        return "norms (int8 absmax requantization)"
    if len(parts) >= 3 and parts[0] == "blocks":
        name = parts[2]
        return {"q": "projections q/k/v/proj", "k": "projections q/k/v/proj", "v": "projections q/k/v/proj",
                "proj": "projections q/k/v/proj", "up": "feed-forward", "down": "feed-forward"}.get(name, name)
    return parts[0] or "(untagged)"


def attention_query_gates(context: int, head_dim: int, shift: int, frac_bits: int, prob_bits: int) -> int:
    """NAND2 gates (after ``cleanup;nand``) of one query over ``context`` keys, built as a circuit."""
    from nandc.frontend.attention import query_attention
    from nandc.ir.circuit import Circuit
    from nandc.ir.words import Word
    from nandc.passes import run_pipeline

    c = Circuit("attention")

    def bus(name: str, n: int):
        return [Word(tuple(c.add_input_bus(f"{name}{i}", 8, signed=True)), True) for i in range(n)]

    q = bus("q", head_dim)
    out = query_attention(c, q, [bus(f"k{u}_", head_dim) for u in range(context)],
                          [bus(f"v{u}_", head_dim) for u in range(context)], shift, frac_bits, prob_bits)
    c.set_output("o", [b for w in out for b in w.bits], (head_dim, 8), signed=True)
    net, _ = run_pipeline(c, "cleanup;nand")
    return net.num_gates


def torch_seconds(model, ids, repeat: int = 10) -> float:
    """Best of ``repeat`` runs of torch eval of ``model`` on the windows ``ids`` (after one warm-up run)."""
    import torch

    model.eval()
    xt = torch.from_numpy(ids)
    best = float("inf")
    with torch.no_grad():
        model(xt)
        for _ in range(repeat):
            t0 = time.perf_counter()
            model(xt)
            best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--d-model", type=int, default=48)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=48)
    p.add_argument("--kernels", default="1,2,3", help="MBOK kernel counts (default 1,2,3)")
    p.add_argument("--chars", type=int, default=1_000_000)
    p.add_argument("--check", type=int, default=24, help="held-out windows compared position by position")
    p.add_argument("--passes", default="O1")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    import numpy as np
    import torch

    import nandc
    from nandc.lab import datasets, zoo
    from nandc.nn.training import bits_per_char, fit_language_model

    torch.set_num_threads(args.threads)
    corpus = datasets.load_python_source(args.chars)
    shape = (corpus.vocab, args.d_model, args.layers, args.heads, args.context)
    models = [("float", zoo.float_lm(*shape)), ("BitNet b1.58", zoo.bitnet_lm(*shape))]
    models += [(f"MBOK K={k}", zoo.mbok_lm(*shape, kernels=int(k))) for k in args.kernels.split(",")]
    starts = np.arange(min(args.check, (len(corpus.test) - 1) // args.context)) * args.context
    ids = corpus.test[starts[:, None] + np.arange(args.context)[None, :]]
    print(f"load average {os.getloadavg()[0]:.1f}; {args.layers} layers, d_model {args.d_model}, {args.heads} heads, "
          f"context {args.context}, vocab {corpus.vocab}; {args.steps} steps of 32 windows each; "
          f"{ids.size} held-out positions checked")
    rows = []
    float_model = None
    for name, model in models:
        torch.manual_seed(0)
        fitted = fit_language_model(model, corpus.train, steps=args.steps, progress=False)
        bpc = bits_per_char(model, corpus.test)
        row = {"model": name, "bpc": bpc, "train_s": fitted.seconds}
        if name == "float":
            float_model = model
            rows.append(row)
            print(f"{name:>14}: {bpc:.3f} bits/char (trained in {fitted.seconds:.0f} s)")
            continue
        t0 = time.perf_counter()
        compiled = nandc.compile(model, torch.zeros(1, args.context, dtype=torch.long), passes=args.passes,
                                 staged=True)
        compile_s = time.perf_counter() - t0
        compiled.run(ids[:1], threads=args.threads)  # JIT compile
        nandc_s = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            out = compiled.run(ids, threads=args.threads)
            nandc_s = min(nandc_s, time.perf_counter() - t0)
        with torch.no_grad():
            ref = model(torch.from_numpy(ids))
        torch_s = torch_seconds(float_model, ids)  # measured again beside each model: the machine may be shared
        own_s = torch_seconds(model, ids, repeat=3)  # torch eval of the quantized model itself
        same = (compiled.to_torch_output(out["logits"]) == ref).all(-1).numpy()
        per_role: dict[str, int] = defaultdict(int)
        for r in compiled.report().rows:
            per_role[role(r.layer)] += r.nand2
        row.update(mismatches=int((~same).sum()), positions=int(same.size), nand2=compiled.num_gates,
                   per_token=compiled.gate_evaluations / args.context, roles=dict(per_role), compile_s=compile_s,
                   tokens_per_s=ids.size / nandc_s, torch_tokens_per_s=ids.size / torch_s,
                   own_tokens_per_s=ids.size / own_s)
        rows.append(row)
        print(f"{name:>14}: {bpc:.3f} bits/char; {row['mismatches']} of {row['positions']} positions differ from "
              f"torch; {compiled.num_gates:,} NAND2 in {len(compiled.program.stages)} kernels, "
              f"{row['per_token']:,.0f} gate evaluations per token; compile {compile_s:.0f} s; "
              f"{row['tokens_per_s']:,.0f} tokens/s vs torch float {row['torch_tokens_per_s']:,.0f} "
              f"({row['tokens_per_s'] / row['torch_tokens_per_s']:.2f}x), torch eval of this model "
              f"{row['own_tokens_per_s']:,.0f} ({row['tokens_per_s'] / row['own_tokens_per_s']:.2f}x)")
        for k, v in sorted(per_role.items(), key=lambda kv: -kv[1]):
            print(f"{'':>16}{k}: {v:,} NAND2 per token")
    attn = models[1][1].blocks[0].attention
    gates = attention_query_gates(args.context, attn.head_dim, attn.shift, attn.frac_bits, attn.prob_bits)
    per_layer = gates * args.heads * args.context
    print(f"gate-level attention (compiled): {gates:,} NAND2 per query and head over {args.context} keys; "
          f"{per_layer:,} gate evaluations per layer and sequence ({per_layer / args.context:,.0f} per token), "
          f"beside the linear layers' {rows[1].get('per_token', 0) / args.layers:,.0f} per token and layer")
    return rows


if __name__ == "__main__":
    main()
