"""``exp`` and ``log`` over whole blocks, in a form the compiler vectorises (private).

numba calls the C library's scalar ``exp``/``log`` (about 3-5 ns each here); numpy's own
are SIMD (under 1 ns). The loops below use only arithmetic, comparisons and bit casts, so
LLVM turns them into SIMD code too: the filter's passes over a scenario's ``(T, K)`` block
(the likelihood ratios, the logs of the output, the normalisations) run at numpy's speed.

Accuracy: within one unit in the last place of the correctly rounded result over the whole
double range (checked against numpy in ``tests/test_exact_vmath.py``), with the C library's
special values: ``exp(-inf) = 0``, ``exp(+inf) = inf``, NaN stays NaN; results below
``2.2e-308`` are subnormal as they should be.

* ``exp``: ``x = k ln 2 + r`` with ``|r| <= ln(2)/2`` (Cody-Waite, two-part ``ln 2``), a
  degree-13 Taylor polynomial for ``exp(r)`` (truncation below 4e-18), and ``2**k`` built
  from its bits (in two factors near the ends of the exponent range).
* ``log``: ``x = 2**k (1 + f)`` with ``1 + f`` in ``[sqrt(2)/2, sqrt(2))``, then the
  fdlibm/musl polynomial for ``log(1 + f)`` (Remez, error below 2**-58.45).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["exp_block", "log_block", "vexp", "vlog"]


def _as_int_typer(typingctx, x):
    """The bits of a float64 as an int64 (a numba intrinsic: one LLVM ``bitcast``)."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


def _as_float_typer(typingctx, x):
    """An int64's bits as a float64 (a numba intrinsic)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_as_int: Any = intrinsic(_as_int_typer)
_as_float: Any = intrinsic(_as_float_typer)

_INF = float("inf")
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2, upper part (exact times any k up to 2**11)
_LN2_LO = 1.90821492927058770002e-10  # and the rest
_MAGIC = 6755399441055744.0  # 1.5 * 2**52: adding it rounds to an integer, kept in the low bits
_MAGIC_BITS = 0x4338000000000000
_TWO_600 = 2.0**600
_TWO_M600 = 2.0**-600
_TWO_54 = 2.0**54
_MIN_NORMAL = 2.2250738585072014e-308
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # sqrt(2)/2
_ONE_BITS = 0x3FF0000000000000
# 1/n! for the Taylor polynomial of exp on |r| <= ln(2)/2
_E2, _E3, _E4, _E5 = 1 / 2, 1 / 6, 1 / 24, 1 / 120
_E6, _E7, _E8, _E9 = 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880
_E10, _E11, _E12, _E13 = 1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800
# fdlibm's coefficients for log(1 + f)
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01

_inline = njit(inline="always", nogil=True, error_model="numpy")
#: The block loops are called, not pasted: one call per block costs nothing next to the
#: block, and compiling each vectorised loop once keeps the kernels' compile time down.
_block = njit(nogil=True, error_model="numpy")


@_inline
def vexp(v):
    """``exp(v)`` from arithmetic and bit casts only (no branch: vectorisable)."""
    c = min(max(v, -746.0), 710.0)
    t = c * _LOG2E + _MAGIC
    kf = t - _MAGIC  # round(c / ln 2)
    r = (c - kf * _LN2_HI) - kf * _LN2_LO
    p = _E13 * r + _E12
    p = p * r + _E11
    p = p * r + _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + 1.0
    p = p * r + 1.0
    k = _as_int(t) - _MAGIC_BITS
    low = k < -1000
    high = k > 1000
    k = k + 600 if low else k
    k = k - 600 if high else k
    res = p * _as_float((k + 1023) << 52)
    res = res * _TWO_M600 if low else res
    res = res * _TWO_600 if high else res
    return res if v == v else v


@_inline
def vlog(v):
    """``log(v)`` for ``v > 0``; ``v`` itself when ``v <= 0`` or NaN
    (the filter's mixed form: a number ``<= 0`` is a log already). Vectorisable."""
    sub = v < _MIN_NORMAL
    x = v * _TWO_54 if sub else v
    ix = _as_int(x)
    tmp = ix - _SQRT_HALF_BITS
    k = (((tmp + _ONE_BITS) >> 52) & 0xFFF) - 1023  # floor(tmp / 2**52) for these tmp
    k = k - 54 if sub else k
    z = _as_float(ix - ((tmp >> 52) << 52))  # in [sqrt(2)/2, sqrt(2))
    kf = _as_float(k + _MAGIC_BITS) - _MAGIC
    f = z - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    zz = s * s
    w = zz * zz
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = zz * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    res = kf * _LN2_HI - ((hfsq - (s * (hfsq + r) + kf * _LN2_LO)) - f)
    res = _INF if v == _INF else res
    return res if v > 0.0 else v


@_block
def exp_block(x, out):
    """``out = exp(x)`` elementwise for C-contiguous blocks of one shape (``out`` may be ``x``,
    but then the loop runs without SIMD: LLVM's overlap check fails)."""
    xf = x.reshape(x.size)
    of = out.reshape(out.size)
    for i in range(xf.size):
        of[i] = vexp(xf[i])


@_block
def log_block(x, out):
    """``out = log(x)`` where ``x > 0``, ``x`` elsewhere (the mixed form to logs)."""
    xf = x.reshape(x.size)
    of = out.reshape(out.size)
    for i in range(xf.size):
        of[i] = vlog(xf[i])
