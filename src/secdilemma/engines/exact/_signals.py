"""The signal channels' log-likelihood for a chunk of scenarios (private; inlined by
:mod:`._fused`, whose kernels add it to the buildup rows).

:func:`signal_rows` computes the weighted log probability of every period's signals under
each type, ``acc`` ``(K, N)``, for ``n`` scenarios of ``T`` periods one after the other
(``N = n * T``; the passes run over a chunk of scenarios at once: per scenario, their calls
would cost as much as their ``T`` values).

The numbers are the equations' (:func:`secdilemma.model.equations.loglik_components`):
``log p(s) = s l - log(1 + e^l)`` with the logit ``l = b + e * threat``, ``b = eta0 + eta_g
g``, ``e = eta_f f``, the threat ``h_{t-1} max(u_{t-1}, 0)``; a channel's term is 0 where its
signal is missing, and a channel with a fear term is missing where the threat is (NaN, as in
period 0). How they are computed:

* **one table per type and group** of :data:`GROUP` channels, indexed by each period's
  digits: 0, 1 or missing on a channel without a fear term; on a channel with one, also
  "0 under threat" and "1 under threat" (the threat not 0). The entries are the weighted
  zero-threat log probabilities, except under threat for a type whose fear loading is not 0:
  there the table holds the part of ``s l`` that does not depend on the threat, ``s b``
  (the rest, ``s e threat``, is summed with the products);
* the **softplus** ``log(1 + e^l)`` of the fear channels under threat, for all the channels of
  one weight at once: ``sum_j log(1 + e^{l_j}) = log prod_j (1 + e^b_j e^{e_j threat})``, one
  ``exp`` per channel and period shared by the types with the same ``e``, one ``log`` per type
  and period. The product stays finite while every ``|l| <= 690 / F``; a threat beyond
  (``lim``), or infinite, takes the equations' operations one by one
  (:func:`_fix_periods`).

``exp`` and ``log`` are :func:`_exp` and :func:`_log`: :mod:`._vmath`'s without the special
cases that cannot occur here (arguments within +-600, products at least 1 and finite).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from secdilemma.engines.exact._vmath import (  # exp and log's constants: one set
    _E2,
    _E3,
    _E4,
    _E5,
    _E6,
    _E7,
    _E8,
    _E9,
    _E10,
    _E11,
    _E12,
    _E13,
    _LG1,
    _LG2,
    _LG3,
    _LG4,
    _LG5,
    _LG6,
    _LG7,
    _LN2_HI,
    _LN2_LO,
    _LOG2E,
    _MAGIC,
    _MAGIC_BITS,
    _ONE_BITS,
    _SQRT_HALF_BITS,
    _as_float,
    _as_int,
)

_piece = njit(inline="always", nogil=True, error_model="numpy")

#: A loop that should vectorise is a function of its own, called once per block.
_block = njit(nogil=True, error_model="numpy")

#: The same, FMA contraction allowed (the polynomials of exp and log).
_fast = njit(nogil=True, error_model="numpy", fastmath={"contract"})

_LOG2 = math.log(2.0)  # numpy's NPY_LOGE2

#: Channels per group (one table per group and type; at most ``5**GROUP`` rows).
GROUP = 5

#: Periods per chunk of scenarios (the work arrays stay in L2).
CHUNK = 4096


@_piece
def _exp(c):
    """``exp(c)`` for ``|c| <= 700`` (:func:`._vmath.vexp` without its range and NaN cases;
    the polynomial in Estrin's form)."""
    t = c * _LOG2E + _MAGIC
    kf = t - _MAGIC
    r = (c - kf * _LN2_HI) - kf * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    b0 = (1.0 + r) + (_E2 + _E3 * r) * r2
    b1 = (_E4 + _E5 * r) + (_E6 + _E7 * r) * r2
    b2 = (_E8 + _E9 * r) + (_E10 + _E11 * r) * r2
    b3 = _E12 + _E13 * r
    p = (b0 + b1 * r4) + (b2 + b3 * r4) * (r4 * r4)
    return p * _as_float((_as_int(t) - _MAGIC_BITS + 1023) << 52)


@_piece
def _log(v):
    """``log(v)`` for a normal, finite ``v > 0`` (:func:`._vmath.vlog` without its special
    cases)."""
    ix = _as_int(v)
    tmp = ix - _SQRT_HALF_BITS
    k = (((tmp + _ONE_BITS) >> 52) & 0xFFF) - 1023
    z = _as_float(ix - ((tmp >> 52) << 52))
    kf = _as_float(k + _MAGIC_BITS) - _MAGIC
    f = z - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    zz = s * s
    w = zz * zz
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = zz * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + (t2 + t1)) + kf * _LN2_LO)) - f)


@_block
def _threat_rows(u, h, c0, lim, thr, ts, mode):
    """The threat ``h_{t-1} max(u_{t-1}, 0)`` (NaN kept; NaN in period 0) of scenarios ``c0,
    c0 + 1, ...`` one after the other into ``thr``; ``ts`` the same where ``0 < |threat| <=
    lim``, else 0; ``mode`` 0 where the threat is 0, 1 where it is in ``ts``, 2 elsewhere
    (NaN or beyond ``lim``: the fear channels' digits are "missing" there). Returns how many
    threats exceed ``lim``."""
    T = u.shape[1]
    n = 0
    for i in range(thr.shape[0] // T):
        s = c0 + i
        hs = h[0] if h.shape[0] == 1 else h[s]
        us = u[s]
        b = i * T
        thr[b] = math.nan
        if hs.shape[0] > 1:
            for t in range(1, T):
                um = us[t - 1]
                thr[b + t] = hs[t - 1] * (um if (um >= 0.0 or um != um) else 0.0)
        else:
            h0 = hs[0]
            for t in range(1, T):
                um = us[t - 1]
                thr[b + t] = h0 * (um if (um >= 0.0 or um != um) else 0.0)
    for t in range(thr.shape[0]):
        th = thr[t]
        a = abs(th)
        ok = a <= lim
        ts[t] = th if ok else 0.0
        mode[t] = 2 - ok - (th == 0.0)
        n += a > lim
    return n


def _make_codes(jc):
    """The digit pass of :func:`signal_rows` for ``J = jc`` channels (``jc = 0``: any ``J``,
    read from ``mult``). With ``J`` a constant the period's channels (``J`` apart in the flat
    signals) are loaded as whole vectors and shuffled, and the loop over periods vectorises
    (with ``J`` read at run time it does not)."""

    n_groups = (jc + GROUP - 1) // GROUP

    def codes(flat, base, mult, isf, mode, code):
        """``code`` ``(G, N)``: each period's index into each group's table, the sum over the
        group's channels of ``mult[j]`` times the digit: 0 for a signal 0, 1 for 1, 2 for
        missing (NaN); on a fear channel (``isf[j]``) 3 and 4 for 0 and 1 where ``mode`` is
        1, 2 where it is 2. Returns how many signals are neither 0, 1 nor NaN."""
        J = jc if jc > 0 else mult.shape[0]
        N = code.shape[1]
        flat = flat[base : base + N * J]  # a view: indexing at base + ... does not vectorise
        n_bad = 0
        for g in range(n_groups if jc > 0 else code.shape[0]):
            for t in range(N):
                m3 = 3 * mode[t]
                c = 0
                for j in range(g * GROUP, min(J, (g + 1) * GROUP)):
                    s = flat[t * J + j]
                    one = s == 1.0
                    zero = s == 0.0
                    d = 2 - 2 * zero - one
                    dd = d + m3
                    dd = 2 if (dd > 4) | (d == 2) else dd
                    c += mult[j] * (dd if isf[j] else d)
                    n_bad += (s == s) & (not zero) & (not one)
                code[g, t] = c
        return n_bad

    codes.__name__ = codes.__qualname__ = f"_codes_{jc or 'any'}"
    return _block(codes)


#: ``J`` up to one table group; more channels take the pass with ``J`` read at run time.
_codes_1, _codes_2, _codes_3, _codes_4, _codes_5 = (_make_codes(j) for j in range(1, 6))
_codes_any = _make_codes(0)


@_piece
def _codes(flat, base, mult, isf, mode, code):
    """:func:`_make_codes`' pass for this ``J`` (the compiled one for ``J <= GROUP``)."""
    J = mult.shape[0]
    if J == 1:
        return _codes_1(flat, base, mult, isf, mode, code)
    if J == 2:
        return _codes_2(flat, base, mult, isf, mode, code)
    if J == 3:
        return _codes_3(flat, base, mult, isf, mode, code)
    if J == 4:
        return _codes_4(flat, base, mult, isf, mode, code)
    if J == 5:
        return _codes_5(flat, base, mult, isf, mode, code)
    return _codes_any(flat, base, mult, isf, mode, code)


@_block
def _gather(code, tab, first, acc):
    """``acc[t]`` (``= 0`` first) ``+= tab[code[t]]``: one type's row of one group's table."""
    if first:
        for t in range(code.shape[0]):
            acc[t] = tab[code[t]]
    else:
        for t in range(code.shape[0]):
            acc[t] += tab[code[t]]


@_piece
def _digit(code, inv):
    """A fear channel's digit in a table index ``code`` (``inv`` = 1 / its place): exact in
    floating point (``(code + 1/2) * inv`` is at least ``1 / (2 * 5**GROUP)`` from an
    integer; the rounding error is far below)."""
    q = np.floor((code + 0.5) * inv)
    return q - 5.0 * np.floor((q + 0.5) * 0.2)


@_fast
def _product(ts, e, code, inv, c, pm):
    """Where a fear channel's digit in ``code`` is 3 or 4 (under threat, observed), one
    type's factor: ``pm[0, t] *= 1 + c exp(e ts[t])`` (``c = exp(b)``) and, for a signal 1
    (digit 4), ``pm[1, t] += e ts[t]`` (the threat's part of ``s l``). No branch, no
    division (vectorises)."""
    prod, sl = pm[0], pm[1]
    for t in range(ts.shape[0]):
        th = ts[t]
        d = _digit(code[t], inv)
        x = _exp(e * th)
        prod[t] *= (1.0 + c * x) if d > 2.5 else 1.0
        sl[t] += e * th if d > 3.5 else 0.0


@_fast
def _product2(ts, e, code, inv, c1, c2, pm1, pm2):
    """:func:`_product` for two types with the same ``e``: one ``exp`` for both."""
    p1, p2, s1, s2 = pm1[0], pm2[0], pm1[1], pm2[1]
    for t in range(ts.shape[0]):
        th = ts[t]
        d = _digit(code[t], inv)
        x = _exp(e * th)
        use = d > 2.5
        p1[t] *= (1.0 + c1 * x) if use else 1.0
        p2[t] *= (1.0 + c2 * x) if use else 1.0
        v = e * th if d > 3.5 else 0.0
        s1[t] += v
        s2[t] += v


@_fast
def _flush(pm, w, acc):
    """``acc += w (pm[1] - log(pm[0]))``: the threat's part of the fear channels of weight
    ``w`` gathered by :func:`_product` (``sum_j log(1 + e^{l_j}) = log prod_j (1 +
    e^{l_j})``, within a few 1e-16 times the largest ``l`` of the logs one by one);
    ``pm`` reset to ``(1, 0)``."""
    prod, sl = pm[0], pm[1]
    for t in range(acc.shape[0]):
        acc[t] += w * (sl[t] - _log(prod[t]))
        prod[t] = 1.0
        sl[t] = 0.0


@_piece
def _softplus(y):
    """``np.logaddexp(0.0, y)`` in numpy's order of operations (``npy_logaddexp``)."""
    if y == 0.0:
        return _LOG2
    tmp = -y
    if tmp > 0.0:
        return math.log1p(math.exp(y))
    if tmp <= 0.0:
        return y + math.log1p(math.exp(tmp))
    return tmp  # NaN


@_piece
def _log_prob(s, logit):
    """``-(s*logaddexp(0, -l) + (1-s)*logaddexp(0, l))`` for ``s`` 0 or 1, as the equations
    write it: NaN where the other term is infinite (``0 * inf``)."""
    if s == 1.0:
        return -_softplus(-logit) if logit != math.inf else math.nan
    return -_softplus(logit) if logit != -math.inf else math.nan


@_piece
def _fix_periods(flat, base, J, thr, lim, fear, acc):
    """The fear channels' terms in the periods the tables and products leave out (a threat
    beyond ``lim`` or infinite), with the equations' operations one by one: added to
    ``acc`` ``(K, N)`` unless some type's term is NaN (then missing, for every type)."""
    fch, fbase, fef, ftable, fw = fear[0], fear[1], fear[2], fear[3], fear[4]
    K = acc.shape[0]
    for t in range(thr.shape[0]):
        th = thr[t]
        if not abs(th) > lim:
            continue
        for f in range(fch.shape[0]):
            s = flat[base + t * J + fch[f]]
            if not (s == 0.0 or s == 1.0):
                continue
            missing = False
            for k in range(K):
                term = fef[f, k] * th
                y = ftable[1 if s == 1.0 else 0, f, k]
                y = y if term == 0.0 else _log_prob(s, fbase[f, k] + term)
                missing = missing or y != y
            if missing:
                continue
            for k in range(K):
                term = fef[f, k] * th
                y = ftable[1 if s == 1.0 else 0, f, k]
                y = y if term == 0.0 else _log_prob(s, fbase[f, k] + term)
                acc[k, t] += fw[f] * y


@_piece
def _fear_products(fear, ts, code, pm, acc):
    """The softplus of the fear channels under threat: per channel, :func:`_product2` for
    each pair of types with the same ``e`` (``jobs``: ``(f, k1, k2 or -1)``), one
    :func:`_flush` per type at the end of each run of channels with the same weight (they
    come sorted by weight; ``flush[f, k]``)."""
    fch, fef, fw, cexp, jobs, flush = fear[0], fear[2], fear[4], fear[6], fear[7], fear[8]
    inv = fear[9]
    K = acc.shape[0]
    i = 0
    for f in range(fch.shape[0]):
        cg, iv = code[fch[f] // GROUP], inv[f]
        while i < jobs.shape[0] and jobs[i, 0] == f:
            k1, k2 = jobs[i, 1], jobs[i, 2]
            if k2 >= 0:
                _product2(ts, fef[f, k1], cg, iv, cexp[f, k1], cexp[f, k2], pm[k1], pm[k2])
            else:
                _product(ts, fef[f, k1], cg, iv, cexp[f, k1], pm[k1])
            i += 1
        for k in range(K):
            if flush[f, k]:
                _flush(pm[k], fw[f], acc[k])


@_piece
def signal_rows(flat, u, h, c0, sig, scratch, flags):
    """The weighted signal log-likelihood of scenarios ``c0, c0 + 1, ...`` (as many as
    ``scratch`` holds; ``flat``: the ``(S, T, J)`` signals, 0, 1 or NaN, flat) into
    ``scratch[2]`` ``(K, N)``, the scenarios' periods one after the other. ``flags[0]``
    counts signals neither 0, 1 nor NaN.

    ``sig`` = ``(mult (J,), isf (J,), tab (G, K, R), fear)``: channel ``j``'s place in its
    group's table index and whether it has a fear term (and a weight other than 0), the
    tables (see the module docstring). ``fear`` = ``(fch (F,), base (F, K), ef
    (F, K), table (2, F, K), w (F,), lim (1,), cexp (F, K), jobs (n, 3), flush (F, K), inv
    (F,))``: the fear channels (sorted by weight), ``b``, ``e``, the zero-threat log
    probabilities of 0 and 1, the weights, the largest threat of the products, ``exp(b)`` (0
    where not finite: such a type's channel never enters a product), the product passes and
    the flushes (:func:`_fear_products`), ``1 / mult`` of each. ``scratch`` = ``(code (G,
    N), mode (N,), acc (K, N), thr (N,), ts (N,), pm (K, 2, N) = (1, 0))``.
    """
    code, mode, acc, thr, ts, pm = scratch
    mult, isf, tab, fear = sig
    T = u.shape[1]
    J = mult.shape[0]
    F = fear[0].shape[0]
    lim = fear[5][0]
    n_big = 0
    if F > 0:
        n_big = _threat_rows(u, h, c0, lim, thr, ts, mode)
    base = c0 * T * J
    flags[0] += _codes(flat, base, mult, isf, mode, code)
    for k in range(acc.shape[0]):
        for g in range(code.shape[0]):
            _gather(code[g], tab[g, k], g == 0, acc[k])
    if F > 0:
        _fear_products(fear, ts, code, pm, acc)
    if n_big > 0:
        _fix_periods(flat, base, J, thr, lim, fear, acc)


@_piece
def signal_scratch(N, K, J, G, F):
    """Work arrays of :func:`signal_rows` for ``N`` periods (those of the fear channels
    empty without them)."""
    code = np.zeros((G, N), dtype=np.int32)
    mode = np.zeros(N, dtype=np.int32)
    NF = N if F > 0 else 0
    pm = np.zeros((K, 2, NF))
    pm[:, 0] = 1.0
    return code, mode, np.empty((K, N)), np.zeros(NF), np.zeros(NF), pm


@_piece
def chunks(S, T, sig):
    """Scenarios per chunk (``C``) and the work arrays for a full chunk and the last one."""
    C = max(1, min(S, CHUNK // T))
    J, G, K, F = sig[0].shape[0], sig[2].shape[0], sig[2].shape[1], sig[3][0].shape[0]
    last = S - (S - 1) // C * C  # scenarios in the last chunk
    return C, signal_scratch(C * T, K, J, G, F), signal_scratch(last * T, K, J, G, F)
