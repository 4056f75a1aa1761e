"""Compiled walks over a whole :class:`~nandc.ir.circuit.Circuit` (numba).

Every pass of a pipeline asks, for each circuit it makes, which nodes are
live, what level each node is at, and rehashes the structural-hash table
as the circuit grows.  In Python those walks cost 0.2-0.3 microseconds a
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

__all__ = ["fanin_mask", "hash_slots", "levels"]


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
