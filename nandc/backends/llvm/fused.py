"""Float input to class in one native loop: encoding, bit transposition, netlist, decoding.

For a flat model whose input encoding is ``threshold`` or ``uniform`` (see
:mod:`nandc.encoding`), :func:`fused_module_text` writes one small LLVM IR
module (pure Python, no llvmlite) around the netlist's compiled code.  Its
function ``nandc_fused`` walks the samples 256 at a time (one sample
vector of the JIT, see :mod:`.packing`):

1. **Encode and pack rows.**  For every sample, the input codes are computed
   eight elements at a time on ``<8 x float>`` (or ``double``) vectors, the
   same operations in the same float type as :func:`nandc.encoding.encode_input`
   (``x >= t``; ``x / step`` -- or the exactly equal product with ``1 / step``
   when that is a power of two -- then round half to even and clip), and
   every code bit plane becomes one byte of the sample's bit row
   (``fcmp`` + ``bitcast <8 x i1> to i8``); 1-bit codes go 16 elements per
   compare (one ``i16`` mask) over each 64-element row word.
2. **Transpose.**  The rows of 64 samples form a 64 x 64 bit matrix per row
   word; the four 64-sample lanes of a vector are transposed together on
   ``<4 x i64>`` values (six rounds of masked shifts), which yields the
   vector layout the netlist reads directly.
3. **Netlist.**  The JIT's driver runs the chunk functions on the encoded
   vectors (through the function pointer it is given).
4. **Decode.**  The output signals go through the same transposition back
   to per-sample rows, and each requested output word (a logit, the class)
   is cut out, sign-extended if its bus is signed, and stored as int64.

Codes the reference path refuses (NaN under ``uniform``) are reported by
the return value, so the caller can raise the reference path's error.  The
module does not depend on the netlist beyond its input and output counts.

Why LLVM IR rather than numba: the encoding wants a vector compare whose
mask lands in a byte (``vcmpps`` + ``vmovmskps``/``kmov``), which numba
cannot express; a first numba version (per-element shift-or of the compare
into a row word, then a scalar 64 x 64 transpose) encoded 6 M samples/s of
64 float32 inputs on one thread, this code about 100 M (netlist included,
input in cache) -- the rate of reading the floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from nandc.errors import BackendError

__all__ = ["FusedSpec", "FusedPlan", "fused_module_text", "plan_fused", "FUSED_NAME", "KINDS", "exact_inverse",
           "scratch_shapes", "vectors_per_call"]

FUSED_NAME = "nandc_fused"
KINDS = ("threshold", "uniform")
_ROW_WORD_BYTES = 64 * 32  # one 64 x 64 bit block of the four lanes: 64 rows of <4 x i64>
PREFETCH_BYTES = 4096
"""How far ahead of the element being encoded the input is prefetched."""


@dataclass(frozen=True)
class FusedSpec:
    """What the fused function computes (everything is baked into its code).

    ``kind`` is ``"threshold"`` (code ``x >= value``) or ``"uniform"`` (code
    ``clip(rint(x / step), 0, 2**bits - 1)``, computed as ``x * value`` when
    ``divide`` is false and ``x / value`` when it is true).  ``ftype`` is
    ``"float"`` or ``"double"``: the input's float type, in which every
    operation is done.  ``fields`` lists the output words to return per
    sample: ``(first output signal, width, signed)``; ``blocks`` splits them
    into consecutive groups (one per output array, default: one group), each
    written to its own ``(N, len(group))`` int64 array.
    """

    kind: str
    ftype: str
    elements: int
    bits: int
    value: float
    divide: bool
    num_inputs: int
    num_outputs: int
    fields: tuple[tuple[int, int, bool], ...]
    blocks: tuple[int, ...] = ()

    def __post_init__(self):
        if not self.blocks:
            object.__setattr__(self, "blocks", (len(self.fields),))
        if self.kind not in KINDS:
            raise BackendError(f"fused encoding kind must be one of {KINDS}, found {self.kind!r}")
        if self.ftype not in ("float", "double"):
            raise BackendError(f"fused float type must be 'float' or 'double', found {self.ftype!r}")
        if self.kind == "threshold" and self.bits != 1:
            raise BackendError(f"a threshold encoding has 1 bit per element, found {self.bits}")
        if not 1 <= self.bits <= 16 or self.elements < 1 or self.elements * self.bits != self.num_inputs:
            raise BackendError(f"fused input of {self.elements} elements x {self.bits} bits does not match "
                               f"{self.num_inputs} netlist inputs")
        for off, width, _ in self.fields:
            if not (0 <= off and 1 <= width <= 63 and off + width <= self.num_outputs):
                raise BackendError(f"output field ({off}, {width}) outside the {self.num_outputs} outputs")
        if not self.fields:
            raise BackendError("a fused function needs at least one output field")
        if sum(self.blocks) != len(self.fields) or min(self.blocks) < 1:
            raise BackendError(f"output blocks {self.blocks} do not split the {len(self.fields)} fields")

    @property
    def groups(self) -> int:
        """Groups of eight elements per sample (the last one may be partial)."""
        return -(-self.elements // 8)

    @property
    def row_words(self) -> int:
        """64-bit words of a sample's bit row (one byte per bit plane and group)."""
        return -(-(self.bits * self.groups) // 8)

    @property
    def out_words(self) -> int:
        """64-bit words of a sample's decoded output row (only up to the last field)."""
        return -(-max(off + width for off, width, _ in self.fields) // 64)

    @property
    def element_bytes(self) -> int:
        return 4 if self.ftype == "float" else 8

    def signal_map(self) -> np.ndarray:
        """Netlist input signal of every row column (-1: padding): column ``8 * (k * G + g) + e8``
        holds bit ``k`` of element ``8 * g + e8``, which is signal ``element * bits + k``."""
        g_count = self.groups
        cols = np.arange(64 * self.row_words)
        vb, e8 = cols // 8, cols % 8
        k, g = vb // g_count, vb % g_count
        element = g * 8 + e8
        return np.where((k < self.bits) & (element < self.elements), element * self.bits + k, -1)


def exact_inverse(step: float, dtype) -> float | None:
    """``1 / step`` in ``dtype`` if multiplying by it equals dividing by ``step`` for every input
    (the inverse is exactly representable); else None."""
    dt = np.dtype(dtype).type
    s = dt(step)
    if not np.isfinite(s) or s <= 0:
        return None
    with np.errstate(over="ignore", divide="ignore"):
        inv = dt(1) / s
    if not np.isfinite(inv) or inv == 0 or Fraction(float(inv)) * Fraction(float(s)) != 1:
        return None
    return float(inv)


def _fconst(value: float, ftype: str) -> str:
    """An exact LLVM float constant (hex form of the double, which LLVM requires for floats too)."""
    if ftype == "float":
        value = float(np.float32(value))
    return "0x%016X" % np.array(value, dtype=np.float64).view(np.uint64)


def _splat(ty: str, value: str, n: int = 8) -> str:
    return "<" + ", ".join(f"{ty} {value}" for _ in range(n)) + ">"


# ---------------------------------------------------------------------- transposition
def _transpose_text() -> str:
    """``t64(ptr a)``: transpose the 64 x 64 bit block of each of the 4 lanes of 64 ``<4 x i64>`` in place."""
    lines = ["define internal void @t64(ptr noalias %a) #0 {", "entry:"]
    cur = []
    for r in range(64):
        lines.append(f"  %p{r} = getelementptr inbounds <4 x i64>, ptr %a, i64 {r}")
        lines.append(f"  %r0_{r} = load <4 x i64>, ptr %p{r}, align 32")
        cur.append(f"%r0_{r}")
    j, m, stage = 32, 0x00000000FFFFFFFF, 0
    while j:
        stage += 1
        nxt = list(cur)
        vm, vj = _splat("i64", str(m if m < 1 << 63 else m - (1 << 64)), 4), _splat("i64", str(j), 4)
        k = 0
        while k < 64:
            a, b, t = cur[k], cur[k + j], f"%t{stage}_{k}"
            lines += [
                f"  {t}s = lshr <4 x i64> {a}, {vj}",
                f"  {t}x = xor <4 x i64> {t}s, {b}",
                f"  {t} = and <4 x i64> {t}x, {vm}",
                f"  {t}l = shl <4 x i64> {t}, {vj}",
                f"  %r{stage}_{k} = xor <4 x i64> {a}, {t}l",
                f"  %r{stage}_{k + j} = xor <4 x i64> {b}, {t}",
            ]
            nxt[k], nxt[k + j] = f"%r{stage}_{k}", f"%r{stage}_{k + j}"
            k = (k + j + 1) & ~j
        cur = nxt
        j >>= 1
        m ^= (m << j) & ((1 << 64) - 1)
    for r in range(64):
        lines.append(f"  store <4 x i64> {cur[r]}, ptr %p{r}, align 32")
    lines += ["  ret void", "}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- encoding
def _code_planes(spec: FusedSpec, v: str, tag: str, n: int = 8) -> tuple[list[str], list[str], str | None]:
    """IR lines turning the ``<n x T>`` value ``v`` into one ``i<n>`` mask per bit plane; also the
    ``i<n>`` NaN mask (uniform only)."""
    ty = spec.ftype
    vt = f"<{n} x {ty}>"
    it = f"i{n}"
    lines: list[str] = []
    if spec.kind == "threshold":
        lines.append(f"  %m{tag} = fcmp oge {vt} {v}, {_splat(ty, _fconst(spec.value, ty), n)}")
        lines.append(f"  %b{tag}_0 = bitcast <{n} x i1> %m{tag} to {it}")
        return lines, [f"%b{tag}_0"], None
    op = "fdiv" if spec.divide else "fmul"
    lines.append(f"  %q{tag} = {op} {vt} {v}, {_splat(ty, _fconst(spec.value, ty), n)}")
    lines.append(f"  %u{tag} = fcmp uno {vt} {v}, {v}")
    lines.append(f"  %ub{tag} = bitcast <{n} x i1> %u{tag} to {it}")
    if spec.bits == 1:  # clip(rint(q), 0, 1) == (q > 0.5) for every non-NaN q (rint(0.5) = 0)
        lines.append(f"  %m{tag} = fcmp ogt {vt} %q{tag}, {_splat(ty, _fconst(0.5, ty), n)}")
        lines.append(f"  %b{tag}_0 = bitcast <{n} x i1> %m{tag} to {it}")
        return lines, [f"%b{tag}_0"], f"%ub{tag}"
    top = (1 << spec.bits) - 1
    suffix = f"v{n}f32" if ty == "float" else f"v{n}f64"
    lines += [
        f"  %r{tag} = call {vt} @llvm.rint.{suffix}({vt} %q{tag})",
        f"  %pos{tag} = fcmp ogt {vt} %r{tag}, zeroinitializer",
        f"  %lo{tag} = select <{n} x i1> %pos{tag}, {vt} %r{tag}, {vt} zeroinitializer",
        f"  %big{tag} = fcmp ogt {vt} %lo{tag}, {_splat(ty, _fconst(top, ty), n)}",
        f"  %hi{tag} = select <{n} x i1> %big{tag}, {vt} {_splat(ty, _fconst(top, ty), n)}, {vt} %lo{tag}",
        f"  %c{tag} = fptoui {vt} %hi{tag} to <{n} x i32>",
    ]
    names = []
    for k in range(spec.bits):
        lines += [
            f"  %a{tag}_{k} = and <{n} x i32> %c{tag}, {_splat('i32', str(1 << k), n)}",
            f"  %n{tag}_{k} = icmp ne <{n} x i32> %a{tag}_{k}, zeroinitializer",
            f"  %b{tag}_{k} = bitcast <{n} x i1> %n{tag}_{k} to {it}",
        ]
        names.append(f"%b{tag}_{k}")
    return lines, names, f"%ub{tag}"


def _plane_offset(spec: FusedSpec, k: int, g: str | int) -> tuple[list[str], str]:
    """Byte offset (from a sample's row base) of bit plane ``k`` of group ``g`` (an SSA name or int)."""
    if isinstance(g, int):
        vb = k * spec.groups + g
        return [], str((vb >> 3) * _ROW_WORD_BYTES + (vb & 7))
    t = f"{g}_k{k}"
    return [
        f"  {t}vb = add i64 {g}, {k * spec.groups}",
        f"  {t}hi = lshr i64 {t}vb, 3",
        f"  {t}lo = and i64 {t}vb, 7",
        f"  {t}hm = mul i64 {t}hi, {_ROW_WORD_BYTES}",
        f"  {t}off = add i64 {t}hm, {t}lo",
    ], f"{t}off"


def _one_bit_rows(spec: FusedSpec) -> list[str]:
    """The row of one sample for a 1-bit code (row column = element): 64 elements per row word,
    16 at a time (one ``i16`` mask each, at a constant offset), then the rest 8 at a time."""
    ty, eb = spec.ftype, spec.element_bytes
    words = spec.elements // 64
    out: list[str] = []
    nan = []
    if words:
        out += [
            "  br label %w1_head",
            "w1_head:",
            "  %w1 = phi i64 [ 0, %s_head ], [ %w1.next, %w1_head ]",
            "  %nan1 = phi i16 [ 0, %s_head ], [ %nan1.next, %w1_head ]",
            f"  %w1x = mul i64 %w1, {64 * eb}",
            "  %w1p = getelementptr inbounds i8, ptr %row, i64 %w1x",
            f"  %w1r = mul i64 %w1, {_ROW_WORD_BYTES}",
            "  %w1rp = getelementptr inbounds i8, ptr %rp, i64 %w1r",
        ]
        acc = "%nan1"
        for q in range(4):
            tag = f"W{q}"
            out += [f"  %p{tag} = getelementptr inbounds i8, ptr %w1p, i64 {16 * q * eb}",
                    f"  %v{tag} = load <16 x {ty}>, ptr %p{tag}, align {eb}"]
            for line in range(0, 16 * eb, 64):
                out += [f"  %pf{tag}_{line} = getelementptr i8, ptr %p{tag}, i64 {PREFETCH_BYTES + line}",
                        f"  call void @llvm.prefetch.p0(ptr %pf{tag}_{line}, i32 0, i32 3, i32 1)"]
            lines, planes, nan_mask = _code_planes(spec, f"%v{tag}", tag, 16)
            out += lines
            out += [f"  %s{tag} = getelementptr inbounds i8, ptr %w1rp, i64 {2 * q}",
                    f"  store i16 {planes[0]}, ptr %s{tag}, align 1"]
            if nan_mask is not None:
                out.append(f"  %acc{tag} = or i16 {acc}, {nan_mask}")
                acc = f"%acc{tag}"
        out += [
            f"  %nan1.next = or i16 {acc}, 0",
            "  %w1.next = add nuw i64 %w1, 1",
            f"  %w1.more = icmp ult i64 %w1.next, {words}",
            "  br i1 %w1.more, label %w1_head, label %w1_done",
            "w1_done:",
            "  %nan1.any = icmp ne i16 %nan1.next, 0",
            "  %nan1.b = zext i1 %nan1.any to i8",
        ]
        nan.append("%nan1.b")
    for g in range(words * 8, spec.groups):  # the last elements, 8 at a time (the last group partial)
        first = 8 * g
        count = min(8, spec.elements - first)
        tag = f"R{g}"
        if count == 8:
            out += [f"  %p{tag} = getelementptr inbounds i8, ptr %row, i64 {first * eb}",
                    f"  %v{tag} = load <8 x {ty}>, ptr %p{tag}, align {eb}"]
            value = f"%v{tag}"
        else:
            value = "zeroinitializer"
            for e in range(count):
                out += [
                    f"  %p{tag}_{e} = getelementptr inbounds i8, ptr %row, i64 {(first + e) * eb}",
                    f"  %e{tag}_{e} = load {ty}, ptr %p{tag}_{e}, align {eb}",
                    f"  %v{tag}_{e} = insertelement <8 x {ty}> {value}, {ty} %e{tag}_{e}, i64 {e}",
                ]
                value = f"%v{tag}_{e}"
        lines, planes, nan_mask = _code_planes(spec, value, tag, 8)
        out += lines
        _, off = _plane_offset(spec, 0, g)
        out += [f"  %s{tag} = getelementptr inbounds i8, ptr %rp, i64 {off}",
                f"  store i8 {planes[0]}, ptr %s{tag}, align 1"]
        if nan_mask is not None:
            nan.append(nan_mask)
    if spec.kind != "threshold" and nan:
        out.append("  %rbad0 = load i8, ptr %bad, align 1")
        acc = "%rbad0"
        for k, m in enumerate(nan):
            out.append(f"  %rbad{k + 1} = or i8 {acc}, {m}")
            acc = f"%rbad{k + 1}"
        out.append(f"  store i8 {acc}, ptr %bad, align 1")
    return out


def _encode_text(spec: FusedSpec) -> str:
    """``encode(ptr x, i64 cnt, ptr rows, ptr in, ptr bad)``: samples ``0 .. cnt - 1`` of ``x``
    (at most 256) into one input vector ``in``; ORs a NaN mask into ``*bad``."""
    ty, eb = spec.ftype, spec.element_bytes
    vt = f"<8 x {ty}>"
    stride = spec.elements * eb
    full = spec.elements // 8
    rem = spec.elements % 8
    out = [
        "define internal void @encode(ptr noalias %x, i64 %cnt, ptr noalias %rb, ptr noalias %ip, "
        "ptr noalias %bad) #0 {",
        "entry:",
        "  %any = icmp sgt i64 %cnt, 0",
        "  br i1 %any, label %s_head, label %transpose",
        "s_head:",
        "  %s = phi i64 [ 0, %entry ], [ %s.next, %s_tail ]",
        f"  %rowoff = mul i64 %s, {stride}",
        "  %row = getelementptr inbounds i8, ptr %x, i64 %rowoff",
        "  %l = lshr i64 %s, 6",
        "  %i = and i64 %s, 63",
        "  %i4 = shl i64 %i, 2",
        "  %il = add i64 %i4, %l",
        "  %rbo = shl i64 %il, 3",
        "  %rp = getelementptr inbounds i8, ptr %rb, i64 %rbo",
    ]
    if spec.bits == 1:
        out += _one_bit_rows(spec)
        full = rem = 0  # done
    if full:
        out += [
            "  br label %g_head",
            "g_head:",
            "  %g = phi i64 [ 0, %s_head ], [ %g.next, %g_head ]",
            f"  %goff = mul i64 %g, {8 * eb}",
            "  %gp = getelementptr inbounds i8, ptr %row, i64 %goff",
            f"  %v = load {vt}, ptr %gp, align {eb}",
            f"  %pf = getelementptr i8, ptr %gp, i64 {PREFETCH_BYTES}",
            "  call void @llvm.prefetch.p0(ptr %pf, i32 0, i32 3, i32 1)",
        ]
        lines, planes, nan = _code_planes(spec, "%v", "L")
        out += lines
        for k, b in enumerate(planes):
            off_lines, off = _plane_offset(spec, k, "%g")
            out += off_lines
            out += [f"  %pp{k} = getelementptr inbounds i8, ptr %rp, i64 {off}",
                    f"  store i8 {b}, ptr %pp{k}, align 1"]
        if nan is not None:
            out += ["  %bad0 = load i8, ptr %bad, align 1", f"  %bad1 = or i8 %bad0, {nan}",
                    "  store i8 %bad1, ptr %bad, align 1"]
        out += [
            "  %g.next = add nuw i64 %g, 1",
            f"  %g.more = icmp ult i64 %g.next, {full}",
            "  br i1 %g.more, label %g_head, label %g_done",
            "g_done:",
        ]
    if rem:
        prev = "zeroinitializer"
        for e in range(rem):
            out += [
                f"  %tp{e} = getelementptr inbounds i8, ptr %row, i64 {(full * 8 + e) * eb}",
                f"  %te{e} = load {ty}, ptr %tp{e}, align {eb}",
                f"  %tv{e} = insertelement {vt} {prev}, {ty} %te{e}, i64 {e}",
            ]
            prev = f"%tv{e}"
        lines, planes, nan = _code_planes(spec, prev, "T")
        out += lines
        for k, b in enumerate(planes):
            _, off = _plane_offset(spec, k, full)
            out += [f"  %tq{k} = getelementptr inbounds i8, ptr %rp, i64 {off}",
                    f"  store i8 {b}, ptr %tq{k}, align 1"]
        if nan is not None:
            out += ["  %tbad0 = load i8, ptr %bad, align 1", f"  %tbad1 = or i8 %tbad0, {nan}",
                    "  store i8 %tbad1, ptr %bad, align 1"]
    out += [
        "  br label %s_tail",
        "s_tail:",
        "  %s.next = add nuw i64 %s, 1",
        "  %s.more = icmp slt i64 %s.next, %cnt",
        "  br i1 %s.more, label %s_head, label %transpose",
        "transpose:",
        "  br label %w_head",
        "w_head:",
        "  %w = phi i64 [ 0, %transpose ], [ %w.next, %w_head ]",
        f"  %woff = mul i64 %w, {_ROW_WORD_BYTES}",
        "  %wp = getelementptr inbounds i8, ptr %rb, i64 %woff",
        "  call void @t64(ptr %wp)",
        "  %w.next = add nuw i64 %w, 1",
        f"  %w.more = icmp ult i64 %w.next, {spec.row_words}",
        "  br i1 %w.more, label %w_head, label %copy",
        "copy:",
    ]
    smap = spec.signal_map()
    if spec.bits == 1:  # the row columns are the signals, in order
        out.append(f"  call void @llvm.memcpy.p0.p0.i64(ptr align 32 %ip, ptr align 32 %rb, "
                   f"i64 {spec.num_inputs * 32}, i1 false)")
        out += ["  ret void", "}"]
    else:
        out += [
            "  br label %c_head",
            "c_head:",
            "  %c = phi i64 [ 0, %copy ], [ %c.next, %c_tail ]",
            "  %smp = getelementptr inbounds i32, ptr @sigmap, i64 %c",
            "  %sig = load i32, ptr %smp, align 4",
            "  %use = icmp sge i32 %sig, 0",
            "  br i1 %use, label %c_body, label %c_tail",
            "c_body:",
            "  %src = getelementptr inbounds <4 x i64>, ptr %rb, i64 %c",
            "  %val = load <4 x i64>, ptr %src, align 32",
            "  %sig64 = sext i32 %sig to i64",
            "  %dst = getelementptr inbounds <4 x i64>, ptr %ip, i64 %sig64",
            "  store <4 x i64> %val, ptr %dst, align 32",
            "  br label %c_tail",
            "c_tail:",
            "  %c.next = add nuw i64 %c, 1",
            f"  %c.more = icmp ult i64 %c.next, {len(smap)}",
            "  br i1 %c.more, label %c_head, label %done",
            "done:",
            "  ret void",
            "}",
        ]
    text = "\n".join(out) + "\n"
    if spec.bits != 1:
        table = ", ".join(f"i32 {int(s)}" for s in smap)
        text = f"@sigmap = internal constant [{len(smap)} x i32] [{table}], align 4\n" + text
    return text


# ---------------------------------------------------------------------- decoding
def _decode_text(spec: FusedSpec) -> str:
    """``decode(ptr op, ptr orow, ptr outs, i64 t0, i64 cnt)``: the output vector ``op`` of
    ``cnt`` samples into rows ``t0 ..`` of the output arrays whose addresses ``outs`` lists
    (array ``r`` has ``blocks[r]`` int64 per sample)."""
    out = ["define internal void @decode(ptr noalias %op, ptr noalias %orow, ptr noalias %outs, i64 %t0, "
           "i64 %cnt) #0 {",
           "entry:"]
    for r in range(len(spec.blocks)):
        out += [f"  %obp{r} = getelementptr inbounds ptr, ptr %outs, i64 {r}",
                f"  %ob{r} = load ptr, ptr %obp{r}, align 8"]
    for wo in range(spec.out_words):
        signals = min(64, spec.num_outputs - 64 * wo)
        out += [
            f"  %src{wo} = getelementptr inbounds <4 x i64>, ptr %op, i64 {64 * wo}",
            f"  %dst{wo} = getelementptr inbounds i8, ptr %orow, i64 {wo * _ROW_WORD_BYTES}",
            f"  call void @llvm.memcpy.p0.p0.i64(ptr align 32 %dst{wo}, ptr align 32 %src{wo}, "
            f"i64 {signals * 32}, i1 false)",
            f"  call void @t64(ptr %dst{wo})",
        ]
    out += [
        "  %any = icmp sgt i64 %cnt, 0",
        "  br i1 %any, label %s_head, label %done",
        "s_head:",
        "  %s = phi i64 [ 0, %entry ], [ %s.next, %s_head ]",
        "  %l = lshr i64 %s, 6",
        "  %i = and i64 %s, 63",
        "  %i4 = shl i64 %i, 2",
        "  %il = add i64 %i4, %l",
        "  %ro = shl i64 %il, 3",
    ]
    for wo in range(spec.out_words):
        out += [f"  %wo{wo} = add i64 %ro, {wo * _ROW_WORD_BYTES}",
                f"  %wp{wo} = getelementptr inbounds i8, ptr %orow, i64 %wo{wo}",
                f"  %word{wo} = load i64, ptr %wp{wo}, align 8"]
    out.append("  %ts = add i64 %t0, %s")
    role_of, index_in = [], []
    for r, size in enumerate(spec.blocks):
        out += [f"  %rb{r} = mul i64 %ts, {size * 8}",
                f"  %rp{r} = getelementptr inbounds i8, ptr %ob{r}, i64 %rb{r}"]
        role_of += [r] * size
        index_in += list(range(size))
    for f, (off, width, signed) in enumerate(spec.fields):
        w, sh = divmod(off, 64)
        out.append(f"  %f{f}a = lshr i64 %word{w}, {sh}")
        cur = f"%f{f}a"
        if sh + width > 64:
            out += [f"  %f{f}b = shl i64 %word{w + 1}, {64 - sh}", f"  %f{f}c = or i64 %f{f}a, %f{f}b"]
            cur = f"%f{f}c"
        if signed:
            out += [f"  %f{f}d = shl i64 {cur}, {64 - width}", f"  %f{f} = ashr i64 %f{f}d, {64 - width}"]
        else:
            out.append(f"  %f{f} = and i64 {cur}, {(1 << width) - 1}")
        out += [f"  %fp{f} = getelementptr inbounds i64, ptr %rp{role_of[f]}, i64 {index_in[f]}",
                f"  store i64 %f{f}, ptr %fp{f}, align 8"]
    out += [
        "  %s.next = add nuw i64 %s, 1",
        "  %s.more = icmp slt i64 %s.next, %cnt",
        "  br i1 %s.more, label %s_head, label %done",
        "done:",
        "  ret void",
        "}",
    ]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- the loop
def _main_text(spec: FusedSpec) -> str:
    stride = spec.elements * spec.element_bytes
    in_bytes, out_bytes = spec.num_inputs * 32, spec.num_outputs * 32
    return f"""\
define i64 @{FUSED_NAME}(ptr %x, i64 %n, ptr %out, ptr %drv, ptr %fns, i64 %nfns, ptr %inbuf, ptr %outbuf, ptr %rows, ptr %spill, ptr %rowbuf, ptr %orow, i64 %maxv) #0 {{
entry:
  %bad = alloca i8, align 1
  store i8 0, ptr %bad, align 1
  %start = icmp sgt i64 %n, 0
  br i1 %start, label %blk, label %exit
blk:
  %base = phi i64 [ 0, %entry ], [ %base.next, %dec_done ]
  %left = sub i64 %n, %base
  %left255 = add i64 %left, 255
  %vleft = lshr i64 %left255, 8
  %few = icmp slt i64 %vleft, %maxv
  %nv = select i1 %few, i64 %vleft, i64 %maxv
  br label %enc
enc:
  %v = phi i64 [ 0, %blk ], [ %v.next, %enc ]
  %v256 = shl i64 %v, 8
  %s0 = add i64 %base, %v256
  %rest = sub i64 %n, %s0
  %short = icmp slt i64 %rest, 256
  %cnt = select i1 %short, i64 %rest, i64 256
  %xo = mul i64 %s0, {stride}
  %xp = getelementptr inbounds i8, ptr %x, i64 %xo
  %io = mul i64 %v, {in_bytes}
  %ip = getelementptr inbounds i8, ptr %inbuf, i64 %io
  call void @encode(ptr %xp, i64 %cnt, ptr %rowbuf, ptr %ip, ptr %bad)
  %v.next = add nuw i64 %v, 1
  %v.more = icmp slt i64 %v.next, %nv
  br i1 %v.more, label %enc, label %run
run:
  call void %drv(ptr %fns, i64 %nfns, ptr %inbuf, ptr %outbuf, ptr %rows, ptr %spill, i64 0, i64 %nv, i64 %nv)
  br label %dec
dec:
  %d = phi i64 [ 0, %run ], [ %d.next, %dec ]
  %d256 = shl i64 %d, 8
  %t0 = add i64 %base, %d256
  %drest = sub i64 %n, %t0
  %dshort = icmp slt i64 %drest, 256
  %dcnt = select i1 %dshort, i64 %drest, i64 256
  %oo = mul i64 %d, {out_bytes}
  %op = getelementptr inbounds i8, ptr %outbuf, i64 %oo
  call void @decode(ptr %op, ptr %orow, ptr %out, i64 %t0, i64 %dcnt)
  %d.next = add nuw i64 %d, 1
  %d.more = icmp slt i64 %d.next, %nv
  br i1 %d.more, label %dec, label %dec_done
dec_done:
  %nv256 = shl i64 %nv, 8
  %base.next = add i64 %base, %nv256
  %more = icmp slt i64 %base.next, %n
  br i1 %more, label %blk, label %exit
exit:
  %b = load i8, ptr %bad, align 1
  %r = zext i8 %b to i64
  ret i64 %r
}}
"""


def fused_module_text(spec: FusedSpec) -> str:
    """The LLVM IR module of ``nandc_fused`` for ``spec`` (deterministic).

    ABI::

        i64 nandc_fused(ptr x, i64 n, ptr out, ptr drv, ptr fns, i64 nfns,
                        ptr inbuf, ptr outbuf, ptr rows, ptr spill,
                        ptr rowbuf, ptr orow, i64 maxv)

    ``x``: ``n`` samples of ``elements`` floats (C order); ``out``: the
    addresses of the output arrays, one per block, array ``r`` holding ``n``
    rows of ``blocks[r]`` int64.  ``drv``/``fns``/``nfns``: the netlist's driver
    and chunk table (see :mod:`.codegen`); it runs up to ``maxv`` vectors at
    a time from ``inbuf`` (``maxv x num_inputs`` vectors) to ``outbuf``
    (``maxv x num_outputs``), with ``rows`` (``maxv x slots``) and ``spill``.
    ``rowbuf`` holds ``64 * row_words`` vectors and ``orow``
    ``64 * out_words``; all buffers 32-byte aligned.  Returns 0, or 1 if an
    input was NaN under a ``uniform`` encoding (outputs are then undefined).
    """
    head = (f"; ModuleID = 'nandc_fused'\n; fused {spec.kind} {spec.ftype} x{spec.elements} "
            f"{spec.bits}-bit -> {len(spec.fields)} fields\n"
            "declare void @llvm.memcpy.p0.p0.i64(ptr, ptr, i64, i1)\n"
            "declare void @llvm.prefetch.p0(ptr, i32, i32, i32)\n"
            "declare <8 x float> @llvm.rint.v8f32(<8 x float>)\n"
            "declare <8 x double> @llvm.rint.v8f64(<8 x double>)\n")
    return (head + _transpose_text() + _encode_text(spec) + _decode_text(spec) + _main_text(spec)
            + "attributes #0 = { nounwind }\n")


def scratch_shapes(spec: FusedSpec, vectors: int, slots: int, spill: int) -> dict[str, tuple[int, int, int]]:
    """Shapes (uint64, vector layout) of the scratch buffers one call of ``nandc_fused`` needs."""
    return {
        "inbuf": (vectors, spec.num_inputs, 4),
        "outbuf": (vectors, spec.num_outputs, 4),
        "rows": (vectors, max(slots, 1), 4),
        "spill": (1, max(spill, 1), 4),
        "rowbuf": (1, 64 * spec.row_words, 4),
        "orow": (1, 64 * spec.out_words, 4),
    }


def vectors_per_call(spec: FusedSpec, default_block: int) -> int:
    """Sample vectors encoded before each netlist call: the netlist's block, the input buffer
    kept near 256 KB."""
    return max(1, min(default_block, (256 << 10) // max(1, spec.num_inputs * 32), 64))



# ---------------------------------------------------------------------- when it applies
@dataclass(frozen=True)
class FusedPlan:
    """A :class:`FusedSpec` for a flat program plus where each output role sits in its fields:
    ``roles[role] = (first field, shape)``."""

    spec: FusedSpec
    roles: tuple[tuple[str, int, tuple[int, ...]], ...]


def plan_fused(program, encoding: dict, roles: tuple[str, ...], dtype) -> FusedPlan | None:
    """The fused run of ``roles`` (``"logits"``, ``"class"``) of a flat ``program`` on float
    inputs of ``dtype`` (float32 or float64), or None where it does not apply: a staged program,
    an encoding other than ``threshold``/``uniform``, input bits not in plain order, output words
    wider than 63 bits or values that are not plain words."""
    from nandc.ir.netlist import FIRST_INPUT
    from nandc.ir.program import Whole

    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)) or not program.is_flat:
        return None
    kind = encoding.get("kind")
    if kind not in KINDS:
        return None
    net = program.stages[0].netlist
    op = program.ops[0]
    if net is None or not isinstance(op.gather, Whole) or set(net.input_buses) != {program.input}:
        return None
    bits = 1 if kind == "threshold" else int(encoding["bits"])
    bus = net.input_buses[program.input]
    elements = int(np.prod(bus.shape[:-1], dtype=np.int64)) if bus.shape else 1
    if (bus.signed or bus.word_width != bits or net.num_inputs != bus.width or elements * bits != bus.width
            or tuple(bus.bits) != tuple(range(FIRST_INPUT, FIRST_INPUT + bus.width))):
        return None
    ftype = "float" if dtype == np.float32 else "double"
    if kind == "threshold":
        value, divide = float(dtype.type(encoding["threshold"])), False
    else:
        step = dtype.type(encoding["step"])
        inv = exact_inverse(float(step), dtype)
        value, divide = (float(step), True) if inv is None else (inv, False)
    offsets, col = {}, 0
    for name, out_bus in net.output_buses.items():
        offsets[name] = (col, out_bus)
        col += out_bus.width
    bound = {b.tensor: b for b in op.outputs}
    fields: list[tuple[int, int, bool]] = []
    placed = []
    for role in roles:
        tname = program.outputs.get(role)
        binding = bound.get(tname)
        if binding is None or binding.bus not in offsets:
            return None
        start, out_bus = offsets[binding.bus]
        width = out_bus.word_width
        tensor = program.tensors[tname]
        base = -(1 << (width - 1)) if binding.signed else 0
        if (not out_bus.shape or width > 63 or out_bus.signed != binding.signed
                or tensor.shape != tuple(out_bus.shape[:-1]) or np.any(tensor.a != 1) or np.any(tensor.b != base)):
            return None
        count = out_bus.width // width
        placed.append((role, len(fields), tensor.shape))
        fields.extend((start + e * width, width, binding.signed) for e in range(count))
    spec = FusedSpec(kind, ftype, elements, bits, value, divide, net.num_inputs, len(net.output_signals()),
                     tuple(fields), tuple(int(np.prod(shape, dtype=np.int64)) for _, _, shape in placed))
    return FusedPlan(spec, tuple(placed))
