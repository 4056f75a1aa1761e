"""SAT engine under the sweep pass and equivalence checking: is literal ``x`` equal to ``y``?

:class:`WindowSolver` answers for two literals of one (possibly growing)
circuit.  Without SAT first (:class:`LocalProver`, not in persistent proofs):
exact tables of both over a reconvergent cut of the two, equal tables being
a proof.  Then, where the caller marks *stop* nodes (signals many others read: a maximum, a
scale), exact tables over the cut that stops at them and at the inputs: the leaf values on which
the two differ are asked of SAT one by one, once per cut (an impossible value is a satisfiability
don't care, and a possible one a counterexample).  Then a small *window*: the miter ``x != y`` encoded over at most
``window`` AND nodes of the union of both cones, nearest the roots first;
nodes whose fanins were not collected are free variables.  UNSAT proves
``x == y`` for every value of those nodes, hence for every input (sound).  A
satisfying assignment is a real counterexample only when the window reached
the inputs.  If the window is inconclusive, the full cones in one shared
incremental solver (:class:`ConeSolver`).  An unproved pair is reported as
:data:`UNKNOWN`, so callers stay sound whatever the budgets.
"""

from __future__ import annotations

import heapq

from nandc.ir.circuit import Circuit
from nandc.synth.factor import MAX_CONE, cone_table, pair_cut

__all__ = ["SAT_SOLVER", "EQUAL", "DIFFERENT", "UNKNOWN", "ConeSolver", "LocalProver", "WindowSolver"]

#: The python-sat solver every engine uses (see :mod:`nandc.synth.equiv` for why MiniSat 2.2).
SAT_SOLVER = "minisat22"
EQUAL, DIFFERENT, UNKNOWN = "equal", "different", "unknown"
#: Nodes above which :class:`WindowSolver`'s cone solver is emptied now and then (not when persistent).
RECYCLE_SIZE = 2000
#: Queries a :class:`ConeSolver` with a ``recycle`` size answers before it may be emptied.
RECYCLE_CALLS = 100


class ConeSolver:
    """One incremental SAT solver holding the full fanin cones of the literals it
    was asked about (loaded lazily, variables numbered compactly); recycled
    when it holds more than ``capacity`` nodes.  ``conflicts``: budget per
    call (None: none); ``learn``: a proved equivalence is added as clauses,
    which helps later queries over the same cones.  ``recycle``: also start
    afresh once the solver holds more than this many nodes and has answered
    :data:`RECYCLE_CALLS` queries since it was last emptied, all but one in a
    hundred of them within the conflict budget (None: only at ``capacity``).
    A satisfying answer assigns every variable the solver holds, not only
    those of the two cones, so a solver that has kept every cone it ever met
    makes each counterexample cost time in proportion to all of them
    (sweeping ``ternary_mlp.fc1.absmax``: 442 counterexamples at about 1 ms
    each in a solver of up to 22k nodes, against 0.2 ms recycled above 2,000);
    recycling only after many queries keeps the cost of reloading cones small
    beside the answers.  Where queries run out of their budget, what the
    solver has learned decides the next ones, and it is kept: emptied
    regardless, the sweeps of ``ternary_mlp.out.absmax`` (128k nodes, 15k
    undecided queries each) proved a third fewer merges and ended 161 NAND2
    larger."""

    def __init__(self, circuit: Circuit, conflicts: int | None, capacity: int = 20000, learn: bool = False,
                 recycle: int | None = None):
        self.circuit = circuit
        self.conflicts = conflicts
        self.capacity = capacity
        self.learn = learn
        self.recycle = recycle
        self.solver = None
        self.var: dict[int, int] = {}
        self.since_reset = self.undecided = 0  # queries since the solver was emptied, and those left undecided

    def _reset(self) -> None:
        from pysat.solvers import Solver

        if self.solver is not None:
            self.solver.delete()
        self.solver = Solver(name=SAT_SOLVER)
        self.solver.add_clause([-1])
        self.var = {0: 1}
        self.since_reset = self.undecided = 0
        self.input_vars: list[tuple[int, int]] = []  # (input node, variable) of the loaded inputs

    def _load(self, root: int) -> None:
        var = self.var
        if root in var:
            return
        f0, f1 = self.circuit.fanin_views()
        todo: list[int] = []
        stack = [root]
        seen = {root}
        while stack:
            v = stack.pop()
            todo.append(v)
            a = f0[v]
            if a:
                for u in (a >> 1, f1[v] >> 1):
                    if u not in var and u not in seen:
                        seen.add(u)
                        stack.append(u)
        todo.sort()
        add = self.solver.add_clause
        inputs = self.input_vars
        for v in todo:
            g = var[v] = len(var) + 1
            a = f0[v]
            if not a:
                inputs.append((v, g))
            else:
                b = f1[v]
                ia = -var[a >> 1] if a & 1 else var[a >> 1]
                ib = -var[b >> 1] if b & 1 else var[b >> 1]
                add([-g, ia])
                add([-g, ib])
                add([g, -ia, -ib])

    def renumber(self, circuit: Circuit, node_literal: list[int]) -> None:
        """Go on in ``circuit``, a copy of this one's circuit in which node ``u`` is literal
        ``node_literal[u]`` (positive; -1 for nodes not copied): the nodes loaded keep their
        variables and clauses, so later answers are those the copy would have had from the start."""
        self.circuit = circuit
        self.var = {node_literal[u] >> 1 if u else 0: g for u, g in self.var.items()}
        self.input_vars = [(node_literal[u] >> 1, g) for u, g in getattr(self, "input_vars", [])]

    def check(self, x: int, y: int) -> tuple[str, dict[int, bool] | None]:
        held = len(self.var)
        if (self.solver is None or held > self.capacity
                or (self.recycle is not None and held > self.recycle and self.since_reset >= RECYCLE_CALLS
                    and 100 * self.undecided <= self.since_reset)):
            self._reset()
        self.since_reset += 1
        self._load(x >> 1)
        self._load(y >> 1)
        var = self.var
        lx = -var[x >> 1] if x & 1 else var[x >> 1]
        ly = -var[y >> 1] if y & 1 else var[y >> 1]
        for assumptions in ([lx, -ly], [-lx, ly]):
            if self.conflicts is None:
                answer = self.solver.solve(assumptions=assumptions)
            else:
                self.solver.conf_budget(self.conflicts)
                answer = self.solver.solve_limited(assumptions=assumptions)
            if answer is None:
                self.undecided += 1
                return UNKNOWN, None
            if answer:
                model = self.solver.get_model()
                return DIFFERENT, {v: model[g - 1] > 0 for v, g in self.input_vars}
        if self.learn:
            self.solver.add_clause([-lx, ly])
            self.solver.add_clause([lx, -ly])
        return EQUAL, None

    def reach(self, leaves: list[int], minterm: int) -> tuple[bool | None, dict[int, bool] | None]:
        """Whether some input gives the nodes ``leaves`` the values ``minterm`` (leaf ``i`` is bit ``i``):
        ``(False, None)`` proved impossible, ``(True, {input node: value})`` an input that does,
        ``(None, None)`` undecided within the conflict budget."""
        if self.solver is None or len(self.var) > self.capacity:
            self._reset()
        var = self.var
        for u in leaves:
            if u not in var:
                self._load(u)
        assumptions = [var[u] if (minterm >> i) & 1 else -var[u] for i, u in enumerate(leaves)]
        if self.conflicts is None:
            answer = self.solver.solve(assumptions=assumptions)
        else:
            self.solver.conf_budget(self.conflicts)
            answer = self.solver.solve_limited(assumptions=assumptions)
        if not answer:
            return answer, None
        model = self.solver.get_model()
        return True, {v: model[g - 1] > 0 for v, g in self.input_vars}

    def close(self) -> None:
        if self.solver is not None:
            self.solver.delete()
            self.solver = None


#: Leaves of the cut :class:`LocalProver` compares two literals over (0: no local proofs).
LOCAL_LEAVES = 10
#: Values of a stop cut's leaves on which two literals may differ for :meth:`WindowSolver.check` to ask
#: whether the leaves can take them.
MAX_MINTERMS = 64


class LocalProver:
    """Two literals of a circuit compared by exact tables over a reconvergent cut of both
    (at most ``leaves`` leaves, :func:`nandc.synth.factor.pair_cut`), before any SAT call:
    equal tables prove the literals equal; different tables over leaves that are all inputs
    are a counterexample; anything else says nothing.

    Most merges of a sweep are local: the two cones differ in a few nodes above shared ones
    (sweeping ``ternary_mlp.fc1.absmax``, 57% of 300 sampled proved merges are proved this way
    at 10 leaves, each in microseconds where a SAT call with its encoding costs 30-150).
    ``compiled``: by :func:`nandc.synth.kernels.pair_check` (the same answers as the Python
    loop here; its scratch arrays grow with the circuit, which may grow between calls)."""

    def __init__(self, leaves: int = LOCAL_LEAVES, compiled: bool = True):
        self.leaves = leaves
        self.compiled = compiled
        self.rows = leaves + MAX_CONE + 2  # table rows: the leaves and the cone (and a spare, as in the kernel)
        if compiled:
            import numpy as np

            from nandc.synth import kernels

            self._np = np
            self._kernels = kernels  # (looked up once: the checks run thousands of times per sweep)
            self.stamp = 0
            self._size = 0
            self.lv = np.zeros(leaves + 2, dtype=np.int64)
            self.inner = np.zeros(self.rows, dtype=np.int64)
            self.stack = np.zeros(2 * self.rows + 4, dtype=np.int64)
            self.tables = np.zeros((self.rows, max(1, (1 << leaves) >> 6)), dtype=np.uint64)
            self.minterms = np.zeros(MAX_MINTERMS, dtype=np.int64)
            self._grow(1024)

    def _grow(self, size: int) -> None:
        np = self._np
        size = max(size, 2 * self._size)
        self.vis = np.zeros(size, dtype=np.int64)
        self.mark = np.zeros(size, dtype=np.int64)
        self.slot = np.zeros(size, dtype=np.int64)
        self._size = size
        self.stamp = 0

    def check(self, circuit: Circuit, x: int, y: int) -> tuple[str, dict[int, bool] | None]:
        """``(EQUAL, None)``, ``(DIFFERENT, {input node: value})`` or ``(UNKNOWN, None)`` for literals
        ``x`` and ``y`` of ``circuit`` (``y`` may be a constant)."""
        f0, f1 = circuit.fanin_views()
        if self.compiled:
            if len(f0) > self._size:
                self._grow(len(f0))
            self.stamp += 1
            # the circuit's arrays themselves (numba reads buffers; a numpy view would keep them from growing)
            verdict, minterm, nl = self._kernels.pair_check(x, y, f0, f1, self.leaves, self.vis, self.mark,
                                                            self.stamp, self.lv, self.inner, self.stack, self.tables,
                                                            self.slot)
            if verdict != 0:
                return (EQUAL, None) if verdict == 1 else (UNKNOWN, None)
            leaves = self.lv[:nl].tolist()
        else:
            verdict, minterm, leaves = self._check_python(x, y, f0, f1)
        if verdict == 1:
            return EQUAL, None
        if verdict == 0:
            return DIFFERENT, {u: bool((minterm >> i) & 1) for i, u in enumerate(leaves)}
        return UNKNOWN, None

    def stop_diff(self, circuit: Circuit, x: int, y: int, stops) -> tuple[list[int], list[int]] | None:
        """``(leaves, minterms)``: ``x`` and ``y`` as functions of the cut that stops at inputs and at the
        nodes ``stops`` marks (:func:`nandc.synth.kernels.stop_cut_diff`), and the values of those leaves
        (leaf ``i`` is bit ``i``) on which the two differ (at most :data:`MAX_MINTERMS`); None when the
        cut is too large or the two differ on more values.  Only with the compiled loops."""
        f0, f1 = circuit.fanin_views()
        if len(f0) > self._size:
            self._grow(len(f0))
        self.stamp += 1
        nl, nm = self._kernels.stop_cut_diff(x, y, f0, f1, self.leaves, stops, self.vis, self.stamp, self.lv,
                                             self.inner, self.stack, self.tables, self.slot, self.minterms)
        if nl < 0 or nm < 0:
            return None
        return self.lv[:nl].tolist(), self.minterms[:nm].tolist()

    def _check_python(self, x: int, y: int, f0, f1) -> tuple[int, int, list[int]]:
        """:func:`nandc.synth.kernels.pair_check`'s ``(verdict, minterm, leaves)``, in Python."""
        leaves = pair_cut(x >> 1, y >> 1, f0, f1, self.leaves)
        inner, stack = set(), [r for r in (x >> 1, y >> 1) if r and r not in leaves]
        while stack:
            u = stack.pop()
            if u in inner or u in leaves or not u:
                continue
            inner.add(u)
            stack += [f0[u] >> 1, f1[u] >> 1]
        nl = len(leaves)
        if nl > self.leaves or nl + len(inner) + 1 > self.rows:
            return -1, 0, list(leaves)
        mask = (1 << (1 << nl)) - 1
        tx = cone_table(x >> 1, leaves, f0, f1) ^ (mask if x & 1 else 0)
        ty = (cone_table(y >> 1, leaves, f0, f1) if y >> 1 else 0) ^ (mask if y & 1 else 0)
        if tx == ty:
            return 1, 0, list(leaves)
        if any(f0[u] for u in leaves):
            return -1, 0, list(leaves)
        d = tx ^ ty
        return 0, (d & -d).bit_length() - 1, list(leaves)


#: Tries a SAT strategy gets before it is judged, and the share of them that must succeed.
TRIAL_TRIES, TRIAL_SHARE = 64, 8


#: Tries the windows get before they are judged when local proofs come first: what is left to
#: them then is rarely theirs either (-O3 on ternary_mlp.fc1.absmax: 455 windows, none answered).
LOCAL_TRIAL_TRIES = 16


def _poor(tries: int, successes: int, trial: int = TRIAL_TRIES) -> bool:
    """Whether the windows have answered too rarely to be worth trying again
    (after ``trial`` tries, fewer than one answer in eight over all of them)."""
    return tries >= trial and TRIAL_SHARE * successes < tries


class _Strategy:
    """Whether the full-cone SAT strategy is worth trying, judged on its recent record.

    Tries are counted in blocks of :data:`BLOCK`; a block in which fewer than
    one try in eight proved an equivalence pauses the strategy for the next
    ``pause`` requests, a pause that doubles after every poor block in a row
    (a good block resets it), and :data:`MAX_POOR` poor blocks in a row end it
    for good (a fourth block on a whole binary MLP met a 700k-variable solver:
    200 ms a try, 13 s of a 27 s sweep).  Judging blocks rather than the
    whole history matters on deep circuits: a whole model's early layers give
    thousands of easy proofs, and a lifetime average then kept paying for
    hopeless queries on its deep arithmetic, 30 ms each in a solver holding
    the whole circuit (one sweep of a whole 331k-node ternary MLP: 400 s
    before, 30 s with blocks, for as many merges: 251,565 nodes left against
    251,578).  Pausing rather than dropping for good keeps the proofs a later
    part of the circuit still gives (int4_cnn.conv1 after ``-O3``: 52,025 ->
    51,574 NAND2).
    """

    BLOCK = TRIAL_TRIES
    FIRST_PAUSE = 512
    MAX_POOR = 3

    def __init__(self):
        self.tries = self.successes = self.poor = 0
        self.pause = self.FIRST_PAUSE
        self.skip = 0  # requests still to decline; -1: all of them

    def wanted(self) -> bool:
        """Whether to try the strategy on this request (a paused one counts the request down)."""
        if self.skip == 0:
            return True
        if self.skip > 0:
            self.skip -= 1
        return False

    def record(self, success: bool) -> None:
        self.tries += 1
        self.successes += success
        if self.tries < self.BLOCK:
            return
        if _poor(self.tries, self.successes):
            self.poor += 1
            # after MAX_POOR poor blocks in a row, for good
            self.skip = self.pause if self.poor < self.MAX_POOR else -1
            self.pause *= 2
        else:
            self.pause = self.FIRST_PAUSE
            self.poor = 0
        self.tries = self.successes = 0


class WindowSolver:
    """SAT checks of ``x == y`` between literals of a (growing) circuit.

    Local proofs first (:class:`LocalProver`); then, with :attr:`stops` set, the cut
    that stops there (:meth:`_stop_check`, paused like the full cones when it rarely
    answers); then a small window (cheap, proves most local equivalences); if it is
    inconclusive, the full cones in a shared incremental solver that holds
    up to ``capacity`` nodes.  Windows are dropped for good once they
    answer rarely (:func:`_poor`: equivalences are global, the constants of a
    division); the full cones are paused while they rarely prove anything
    (:class:`_Strategy`: candidates are arithmetic look-alikes that only differ
    deep down).  The two differ because a window costs little and proves most
    merges: pausing it on a poor streak sent a whole binary MLP's candidates
    to the full cones, which then proved 8% fewer merges in three times the time.
    ``persistent``: never drop or pause a strategy, and let the cone solver keep
    what it proved (for proofs, where every merge counts).
    """

    def __init__(self, circuit: Circuit, window: int, conflicts: int, capacity: int = 20000,
                 persistent: bool = False):
        self.circuit = circuit
        self.window = window
        self.conflicts = conflicts
        self.persistent = persistent
        self.calls = 0
        self.cones = ConeSolver(circuit, conflicts, capacity=max(20000, capacity), learn=persistent,
                                recycle=None if persistent else RECYCLE_SIZE)
        self.window_tries = 0
        self.window_answers = 0
        self.fallback = _Strategy()
        self.local: LocalProver | None = None
        self.local_answers = 0
        #: Nodes that stop cuts (None: no stop cuts), set by the caller (see :meth:`check`), and what SAT
        #: said of the values of each stop cut's leaves (tuple of leaves -> {minterm: None, proved
        #: impossible, or an input that gives it}).
        self.stops = None
        self.leaf_values: dict[tuple[int, ...], dict[int, dict[int, bool] | None]] = {}
        self.stop_cuts = _Strategy()
        self.leaf_solver: ConeSolver | None = None  # the stop cuts' queries (apart: the cone queries' solver
        # then holds what it held without them)
        if not persistent and LOCAL_LEAVES:
            from nandc.synth.compiled import use_compiled

            self.local = LocalProver(LOCAL_LEAVES, compiled=use_compiled(circuit.num_ands))

    def _collect(self, roots: set[int], limit: int) -> tuple[list[int], bool]:
        """Nodes of the union cone of ``roots``, highest first, expanding at most
        ``limit`` AND nodes; returns them and whether the whole cone was collected."""
        f0, f1 = self.circuit.fanin_views()
        heap = [-r for r in roots]
        heapq.heapify(heap)
        seen = set(roots)
        nodes: list[int] = []
        while heap:
            v = -heapq.heappop(heap)
            nodes.append(v)
            a = f0[v]
            if not a:
                continue
            if len(nodes) > limit:
                nodes.extend(-u for u in heap)
                return nodes, False
            for u in (a >> 1, f1[v] >> 1):
                if u not in seen:
                    seen.add(u)
                    heapq.heappush(heap, -u)
        return nodes, True

    def _clauses(self, nodes: list[int]) -> tuple[dict[int, int], list[list[int]]]:
        """Variables of ``nodes`` and the Tseitin clauses of every AND node whose fanins are among them."""
        f0, f1 = self.circuit.fanin_views()
        var = {v: i + 1 for i, v in enumerate(nodes)}
        clauses: list[list[int]] = []
        for v in nodes:
            a = f0[v]
            if not a:
                if v == 0:
                    clauses.append([-var[0]])
                continue
            b = f1[v]
            ia = var.get(a >> 1)
            ib = var.get(b >> 1)
            if ia is None or ib is None:
                continue
            g = var[v]
            if a & 1:
                ia = -ia
            if b & 1:
                ib = -ib
            clauses.append([-g, ia])
            clauses.append([-g, ib])
            clauses.append([g, -ia, -ib])
        return var, clauses

    def _window_check(self, x: int, y: int) -> tuple[str, dict[int, bool] | None]:
        from pysat.solvers import Solver

        nodes, complete = self._collect({x >> 1, y >> 1}, self.window)
        var, clauses = self._clauses(nodes)
        lx = -var[x >> 1] if x & 1 else var[x >> 1]
        ly = -var[y >> 1] if y & 1 else var[y >> 1]
        with Solver(name=SAT_SOLVER, bootstrap_with=clauses) as solver:
            for assumptions in ([lx, -ly], [-lx, ly]):
                self.calls += 1
                solver.conf_budget(self.conflicts)
                answer = solver.solve_limited(assumptions=assumptions)
                if answer is None:
                    return UNKNOWN, None
                if answer:
                    if not complete:
                        return UNKNOWN, None
                    model = solver.get_model()
                    f0 = self.circuit.fanin_views()[0]
                    return DIFFERENT, {v: model[i - 1] > 0 for v, i in var.items() if v and not f0[v]}
        return EQUAL, None

    def renumber(self, circuit: Circuit, node_literal: list[int]) -> None:
        """Go on in ``circuit``, a copy in which node ``u`` is literal ``node_literal[u]`` and the
        copied nodes keep their order (see :meth:`ConeSolver.renumber`): every later answer is the one
        a solver over the copy would have given."""
        self.circuit = circuit
        self.cones.renumber(circuit, node_literal)
        if self.leaf_solver is not None:
            self.leaf_solver.renumber(circuit, node_literal)
        moved = {}
        for leaves, values in self.leaf_values.items():
            lits = [node_literal[u] for u in leaves]
            if all(lit >= 0 and not lit & 1 for lit in lits):  # (copies keep their order: so do the bits)
                moved[tuple(lit >> 1 for lit in lits)] = {
                    m: None if cex is None else {node_literal[u] >> 1: b for u, b in cex.items()}
                    for m, cex in values.items()}
        self.leaf_values = moved

    def _stop_check(self, x: int, y: int) -> tuple[str, dict[int, bool] | None]:
        """``x`` against ``y`` over the cut that stops at :attr:`stops`: equal tables, or tables that
        differ only on values of the leaves proved impossible (a satisfiability don't care: an
        equivalence that holds because signals read all over the circuit are related, as every
        quantized value is at most the maximum it is divided by), prove them equal; an input that
        gives the leaves one of those values tells them apart."""
        got = self.local.stop_diff(self.circuit, x, y, self.stops)
        if got is None:
            return UNKNOWN, None
        leaves, minterms = got
        known = self.leaf_values.setdefault(tuple(leaves), {})  # minterm -> None (impossible) or an input
        for m in minterms:
            if m not in known:
                self.calls += 1
                if self.leaf_solver is None:
                    self.leaf_solver = ConeSolver(self.circuit, self.conflicts, capacity=self.cones.capacity,
                                                  recycle=RECYCLE_SIZE)
                answer, cex = self.leaf_solver.reach(leaves, m)
                if answer is None:
                    return UNKNOWN, None
                known[m] = cex
            if known[m] is not None:
                return DIFFERENT, known[m]
        return EQUAL, None

    def check(self, x: int, y: int) -> tuple[str, dict[int, bool] | None]:
        """Whether literals ``x`` and ``y`` (``y`` may be a constant) are equal.

        Returns ``(EQUAL, None)`` (proved), ``(DIFFERENT, {input node: value})``
        (a real counterexample), or ``(UNKNOWN, None)``.
        """
        if self.local is not None:
            verdict, cex = self.local.check(self.circuit, x, y)
            if verdict != UNKNOWN:
                self.local_answers += 1
                return verdict, cex
        if self.stops is not None and self.local is not None and self.local.compiled and self.stop_cuts.wanted():
            verdict, cex = self._stop_check(x, y)
            self.stop_cuts.record(verdict != UNKNOWN)
            if verdict != UNKNOWN:
                return verdict, cex
        trial = TRIAL_TRIES if self.local is None else LOCAL_TRIAL_TRIES
        if self.persistent or not _poor(self.window_tries, self.window_answers, trial):
            self.window_tries += 1
            verdict, cex = self._window_check(x, y)
            if verdict != UNKNOWN:
                self.window_answers += 1
                return verdict, cex
        if not (self.persistent or self.fallback.wanted()):
            return UNKNOWN, None
        self.calls += 1
        verdict, cex = self.cones.check(x, y)
        self.fallback.record(verdict == EQUAL)
        return verdict, cex

    def close(self) -> None:
        self.cones.close()
        if self.leaf_solver is not None:
            self.leaf_solver.close()
