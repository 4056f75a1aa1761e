"""Compiled walks over a whole :class:`~nandc.ir.circuit.Circuit` (numba).

Every pass of a pipeline asks, for each circuit it makes, which nodes are
live, what level each node is at, and rehashes the structural-hash table
as the circuit grows; and the passes that rebuild a circuit with some
nodes replaced copy it node by node through ``and_`` (:func:`run_ands`
does a whole copy in one call).  In Python those walks cost 0.2-0.3 microseconds a
node each time (``-O3`` on a 22k-node layer makes some eighty circuits, and
walked them for about 50 ms of its 0.75 s); compiled, they cost nanoseconds.
:class:`~nandc.ir.circuit.Circuit` uses these loops only once numba is
loaded in the process (the synthesis engines load it), so that building
and reading circuits never pays numba's import; the Python walks give the
same arrays.

The fanin arrays are the circuit's own ``array('I')`` buffers (numba reads
them in place), in node order, which is a topological order: every AND node's
fanins are lower nodes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["fanin_mask", "hash_slots", "levels", "run_ands"]


@njit(cache=True, nogil=True)
def fanin_mask(f0, f1, roots):
    """Mask of the nodes in the transitive fanin of the literals ``roots`` (roots included): one
    sweep from the last node down, since every fanin is a lower node."""
    n = len(f0)
    mark = np.zeros(n, np.bool_)
    for i in range(roots.shape[0]):
        mark[roots[i] >> 1] = True
    for v in range(n - 1, 0, -1):
        if mark[v]:
            a = f0[v]
            if a:
                mark[a >> 1] = True
                mark[f1[v] >> 1] = True
    return mark


@njit(cache=True, nogil=True)
def levels(f0, f1):
    """Logic level of every node: 0 for the constant and the inputs, 1 + the larger fanin level
    for an AND node."""
    n = len(f0)
    lev = np.zeros(n, np.int64)
    for v in range(n):
        a = f0[v]
        if a:
            la = lev[a >> 1]
            lb = lev[f1[v] >> 1]
            lev[v] = (la if la > lb else lb) + 1
    return lev


@njit(cache=True, nogil=True)
def hash_slots(f0, f1, size):
    """``(table, duplicate)``: the structural-hash table of size ``size`` (a power of two) holding
    every AND node, inserted in node order by linear probing from slot
    ``((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & (size - 1)`` (int32 node ids, 0 = empty), the table
    :meth:`~nandc.ir.circuit.Circuit.and_` builds one node at a time; and the first node whose
    fanins an earlier node has already (0 if none: then the table holds each pair once)."""
    mask = size - 1
    table = np.zeros(size, np.int32)
    duplicate = 0
    for v in range(len(f0)):
        a = np.int64(f0[v])
        if a:
            b = np.int64(f1[v])
            h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask
            while table[h]:
                u = table[h]
                if duplicate == 0 and f0[u] == a and f1[u] == b:
                    duplicate = v
                h = (h + 1) & mask
            table[h] = v
    return table, duplicate


@njit(cache=True, nogil=True)
def run_ands(f0, f1, table, mask, values, ops, op_layer, nf0, nf1, nlayer):
    """The ops of :meth:`~nandc.ir.circuit.Circuit.run_ands` on a circuit of fanins ``f0``/``f1``
    and structural-hash ``table`` (``mask``: its size - 1, large enough to hold every node the ops
    may make at most half full).  New nodes go to ``nf0``/``nf1`` (node ``len(f0) + i`` in row
    ``i``), tagged ``nlayer[i]`` (the ``op_layer`` of the op that made it), and into ``table``.

    Returns the number of new nodes, or ``-(i + 1)`` when op ``i`` reads a literal that is not set
    (negative) or does not exist (then ``table`` holds nodes that were not kept: rebuild it)."""
    old = len(f0)
    made = 0
    for i in range(ops.shape[0]):
        sa = ops[i, 1]
        sb = ops[i, 2]
        a = values[sa >> 1]
        if a < 0:
            return -(i + 1)
        a ^= sa & 1
        if sb < 0:
            values[ops[i, 0]] = a
            continue
        b = values[sb >> 1]
        if b < 0:
            return -(i + 1)
        b ^= sb & 1
        if a > b:
            a, b = b, a
        if b >= 2 * (old + made):
            return -(i + 1)
        if a < 2:
            values[ops[i, 0]] = b if a == 1 else 0
            continue
        if a == b:
            values[ops[i, 0]] = a
            continue
        if a ^ 1 == b:
            values[ops[i, 0]] = 0
            continue
        h = ((a * 0x9E3779B1) ^ (b * 0x85EBCA77)) & mask
        found = 0
        while table[h]:
            u = np.int64(table[h])
            ua = np.int64(f0[u]) if u < old else nf0[u - old]
            ub = np.int64(f1[u]) if u < old else nf1[u - old]
            if ua == a and ub == b:
                found = u
                break
            h = (h + 1) & mask
        if found:
            values[ops[i, 0]] = 2 * found
            continue
        node = old + made
        nf0[made] = a
        nf1[made] = b
        nlayer[made] = op_layer[i]
        table[h] = node
        made += 1
        values[ops[i, 0]] = 2 * node
    return made
