"""A pure-torch stand-in for difflogic's ``LogicLayer`` and ``GroupSum`` (CPU, python implementation).

Same attributes as difflogic's modules (``in_dim``, ``out_dim``, ``indices``
as a tuple of two int64 tensors, ``weights`` an ``(out_dim, 16)`` parameter;
``GroupSum.k``, ``GroupSum.tau``) and the same semantics: in training mode a
softmax-weighted sum of the 16 real-valued gate operators, in eval mode the
operator of the weights' argmax (a one-hot weighting), accumulated in the
order 0..15.  Gate ids follow difflogic's table: id ``i`` lists the outputs at
``(A, B) = 00, 01, 10, 11`` from its most significant bit down.
"""

import torch
from torch import nn

#: difflogic's operators by gate id, as real-valued (probabilistic) expressions
OPERATORS = (
    lambda a, b: torch.zeros_like(a),        # 0  false
    lambda a, b: a * b,                      # 1  A and B
    lambda a, b: a - a * b,                  # 2  not (A implies B)
    lambda a, b: a,                          # 3  A
    lambda a, b: b - a * b,                  # 4  not (B implies A)
    lambda a, b: b,                          # 5  B
    lambda a, b: a + b - 2 * a * b,          # 6  A xor B
    lambda a, b: a + b - a * b,              # 7  A or B
    lambda a, b: 1 - (a + b - a * b),        # 8  not (A or B)
    lambda a, b: 1 - (a + b - 2 * a * b),    # 9  not (A xor B)
    lambda a, b: 1 - b,                      # 10 not B
    lambda a, b: 1 - b + a * b,              # 11 B implies A
    lambda a, b: 1 - a,                      # 12 not A
    lambda a, b: 1 - a + a * b,              # 13 A implies B
    lambda a, b: 1 - a * b,                  # 14 not (A and B)
    lambda a, b: torch.ones_like(a),         # 15 true
)


def mixture(a, b, w):
    r = torch.zeros_like(a)
    for i, op in enumerate(OPERATORS):
        r = r + w[..., i] * op(a, b)
    return r


class LogicLayer(nn.Module):
    def __init__(self, in_dim, out_dim, seed=0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.in_dim, self.out_dim = in_dim, out_dim
        self.weights = nn.Parameter(torch.randn(out_dim, 16, generator=gen))
        c = torch.randperm(2 * out_dim, generator=gen) % in_dim
        c = torch.randperm(in_dim, generator=gen)[c].reshape(2, out_dim)
        self.indices = c[0].to(torch.int64), c[1].to(torch.int64)  # a plain attribute: not in the state_dict

    def forward(self, x):
        a, b = x[..., self.indices[0]], x[..., self.indices[1]]
        if self.training:
            w = torch.softmax(self.weights, -1)
        else:
            w = nn.functional.one_hot(self.weights.argmax(-1), 16).to(torch.float32)
        return mixture(a, b, w)


class GroupSum(nn.Module):
    def __init__(self, k, tau=1.0):
        super().__init__()
        self.k, self.tau = k, tau

    def forward(self, x):
        return x.reshape(*x.shape[:-1], self.k, x.shape[-1] // self.k).sum(-1) / self.tau
