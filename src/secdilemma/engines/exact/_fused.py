"""Numba kernels that filter straight from the moves (private; loaded by :mod:`.fused`).

The per-type log-likelihood of the rival's buildups is computed for one scenario at a time
into a ``(T, K)`` block that stays in cache, and the filter of :mod:`._kernels` runs on it at
once: no ``(S, T, K)`` log-likelihood array is written or read back.

:func:`scenario_rows` computes it: :func:`_period_terms` and :func:`_type_rows` are a
compiled copy of :func:`secdilemma.model.equations.loglik_components`' buildup term (the
split reaction function, Normal or Student-t noise, missing data contributing nothing, the
threat-blind observer, a weight on the evidence). They perform the same floating-point
operations in the same order as the numpy equations, so the two agree to the last bit or so;
``tests/test_exact_fused.py`` holds them to them within 1e-12.

:func:`signal_rows` computes the signal channels' log-likelihood ``(K, n * T)`` for a chunk
of ``n`` scenarios at once, added in the transposition of each scenario's buildup rows into
the block (:func:`_merge_signals`). Each period's
signals index a table of the equations' zero-threat values (one gather per type for up to
:data:`GROUP` channels); a channel with a fear term computes its logistic where the threat
is not 0 (vectorised: :func:`._vmath.vexp` shared by the types with the same fear loading, and
one :func:`._vmath.vlog` per type and period for all the fear channels of one weight:
``s l - log prod_j (1 + exp(l_j))``, within a few 1e-16 times ``l`` of numpy's ``logaddexp``),
and the periods with a logit too large for it with the equations' operations one by one.
``tests/test_exact_fused.py`` and ``tests/test_signal_likelihood.py`` hold it to the
equations and to an enumeration.

Scenario parameters come as the rows of ``prm`` ``(P, 9)`` (``P`` is 1 when shared, else
``S``): ``mu, alpha, beta, gamma, kappa, lam, anchor, sigma`` and the noise density's
``offset`` (:func:`secdilemma.model.equations.noise_offset`). The threat multiplier of each
period comes as ``h`` ``(1 or S, 1 or T)``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from secdilemma.engines.exact._kernels import record, static_scenario, switching_scenario
from secdilemma.engines.exact._kernels import switching_scratch as _switching_scratch
from secdilemma.engines.exact._vmath import vexp, vlog
from secdilemma.model.equations import LOG_2PI

__all__ = ["loglik", "observe"]

_kernel = njit(cache=True, nogil=True, error_model="numpy")
_piece = njit(inline="always", nogil=True, error_model="numpy")

#: A loop that should vectorise is a function of its own, called once per block: inlined
#: into a large kernel, LLVM may give up on it.
_block = njit(nogil=True, error_model="numpy")

#: The same, FMA contraction allowed: the softplus loop (a polynomial in each lane).
_fast = njit(nogil=True, error_model="numpy", fastmath={"contract"})

#: Channels per group of the zero-threat table: ``3**GROUP`` rows (0, 1, missing each).
GROUP = 5

_LOG2 = math.log(2.0)  # numpy's NPY_LOGE2

#: The digest of the modules these kernels inline (see ``_kernels.BUILT_FROM``).
BUILT_FROM = ("_kernels.py", "_pieces.py", "_vmath.py", "7ffc0c2cc45e4f36")


@_piece
def _period_terms(u, x, sx, v, h, use_lam, terms):
    """Per period ``t >= 1``: the threat multiplier of ``t - 1``, the observer's increase and
    cut in ``t - 1`` (``np.maximum(u, 0)`` and ``np.minimum(u, 0)``, NaN and the sign of zero
    included) and the mean reversion (exactly 0 without it: the equations leave it out, and
    ``m - 0.0`` is ``m`` bit for bit) into the rows of ``terms`` ``(4, T)``."""
    T = terms.shape[1]
    c = h.shape[0]
    for t in range(1, T):
        um = u[t - 1]
        terms[0, t] = h[t - 1] if c > 1 else h[0]
        terms[1, t] = um if (um >= 0.0 or um != um) else 0.0
        terms[2, t] = um if (um <= 0.0 or um != um) else 0.0
        terms[3, t] = v[5] * (x[sx, t - 1] - v[6]) if use_lam else 0.0


@_piece
def _type_rows(dx, v, greed, fear, noise, terms, tmp):
    """``tmp[k, t]``: the log density of ``dx[t]`` under type ``k`` (``t >= 1``), in the
    order of operations of :func:`secdilemma.model.equations.reaction_mean` and
    :func:`~secdilemma.model.equations.noise_logpdf`. The loop over periods has no branch,
    so it vectorises (the Student-t one calls ``log1p``)."""
    student, nu, coef, _ = noise
    mu, alpha, beta, gamma, kappa = v[0], v[1], v[2], v[3], v[4]
    sd, off = v[7], v[8]
    K, T = tmp.shape
    hp, up_move, down_move, rev = terms[0], terms[1], terms[2], terms[3]
    for k in range(K):
        g = greed[k]
        f = fear[k]
        auto = mu + g * alpha
        fb = f * beta
        gk = g * (1.0 - f) * kappa
        down = f * (1.0 - g) * beta - g * gamma
        row = tmp[k]
        if student:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = off - coef * math.log1p(z * z / nu)
        else:
            for t in range(1, T):
                mean = auto + (fb * hp[t] - gk) * up_move[t] + down * down_move[t]
                z = (dx[t] - (mean - rev[t])) / sd
                row[t] = -0.5 * (LOG_2PI + z * z) - off


@_piece
def _merge(tmp, wb, out):
    """``out`` ``(T, K)``: the buildup rows ``tmp`` ``(K, T)`` (0 where missing: a period
    where some type's value is NaN) times the weight ``wb`` (0 gives exactly 0)."""
    T, K = out.shape
    for k in range(K):
        out[0, k] = 0.0  # no reaction to observe in period 0
    for t in range(1, T):
        nan = False
        for k in range(K):
            y = tmp[k, t]
            out[t, k] = y
            if y != y:
                nan = True
        if nan:
            for k in range(K):
                out[t, k] = 0.0
        elif wb != 1.0:
            for k in range(K):
                out[t, k] = 0.0 if wb == 0.0 else wb * out[t, k]


@_piece
def _merge_signals(tmp, wb, acc, out):
    """As :func:`_merge`, plus the signal rows ``acc`` ``(K, T)``: the transposition the
    buildup rows need anyway adds the signals (no pass of their own)."""
    T, K = out.shape
    for k in range(K):
        out[0, k] = acc[k, 0]
    for t in range(1, T):
        nan = False
        for k in range(K):
            y = tmp[k, t]
            out[t, k] = y
            if y != y:
                nan = True
        if nan:
            for k in range(K):
                out[t, k] = acc[k, t]
        elif wb == 1.0:
            for k in range(K):
                out[t, k] += acc[k, t]
        else:
            for k in range(K):
                out[t, k] = (0.0 if wb == 0.0 else wb * out[t, k]) + acc[k, t]


@_piece
def scenario_rows(moves, s, wb, signals, acc, scratch, out):
    """Scenario ``s``'s log-likelihood into ``out`` ``(T, K)``: the buildups (weighted
    ``wb``) and, when ``signals``, the signal rows ``acc`` ``(K, T)`` (:func:`signal_rows`),
    added in the buildups' transposition. ``moves`` = the kernels' first eight arguments;
    ``scratch`` = ``(terms, tmp)``."""
    dx, u, x, prm, h, noise, greed, fear = moves
    terms, tmp = scratch
    v, hs, sx = _rows(prm, h, x, s)
    _period_terms(u[s], x, sx, v, hs, noise[3], terms)
    _type_rows(dx[s], v, greed, fear, noise, terms, tmp)
    if signals:
        _merge_signals(tmp, wb, acc, out)
    else:
        _merge(tmp, wb, out)


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


def _make_codes(jc):
    """The table-index pass of :func:`signal_rows` for ``J = jc`` channels (``jc = 0``: any
    ``J``, read from ``mult``). With ``J`` a constant, the period's channels (``J`` apart in
    the flat signals) are loaded as whole vectors and shuffled: the loop over periods
    vectorises (with ``J`` read at run time it does not)."""

    n_groups = (jc + GROUP - 1) // GROUP

    def codes(flat, base, mult, code, fpos, cols):
        """Each period's index into each group's table, ``code`` ``(G, T)``, from the ``T * J``
        signals at ``flat[base:]``: the sum over the
        group's channels of ``mult[j]`` times a digit, 0 for a signal 0, 1 for 1, 2 for
        missing (NaN). When there are fear channels (``fpos``), the signals transposed
        into ``cols`` ``(J, T)``.
        Returns how many signals are neither 0, 1 nor NaN."""
        J = jc if jc > 0 else mult.shape[0]
        T = code.shape[1]
        flat = flat[base : base + T * J]  # a view: indexing at base + ... does not vectorise
        n_bad = 0
        for g in range(n_groups if jc > 0 else code.shape[0]):
            for t in range(T):
                c = 0
                for j in range(g * GROUP, min(J, (g + 1) * GROUP)):
                    s = flat[t * J + j]
                    one = s == 1.0
                    zero = s == 0.0
                    c += mult[j] * (2 - 2 * zero - one)
                    n_bad += (s == s) & (not zero) & (not one)
                code[g, t] = c
        if fpos.shape[0] > 0:  # every channel's column (J a constant: loads and shuffles)
            for t in range(T):
                for j in range(J):
                    cols[j, t] = flat[t * J + j]
        return n_bad

    # a name of its own: the compiled kernels name their callees by it (one name for all
    # six would clash when the kernels are loaded from numba's cache)
    codes.__name__ = codes.__qualname__ = f"_codes_{jc or 'any'}"
    return _block(codes)


#: ``J`` up to one table group; more channels take the pass with ``J`` read at run time
#: (each one compiled costs about 0.3 s of the first call's compile).
_codes_1, _codes_2, _codes_3, _codes_4, _codes_5 = (_make_codes(j) for j in range(1, 6))
_codes_any = _make_codes(0)


@_piece
def _codes(flat, base, mult, code, fpos, cols):
    """:func:`_make_codes`' pass for this ``J`` (the compiled one for ``J <= GROUP``)."""
    J = mult.shape[0]
    if J == 1:
        return _codes_1(flat, base, mult, code, fpos, cols)
    if J == 2:
        return _codes_2(flat, base, mult, code, fpos, cols)
    if J == 3:
        return _codes_3(flat, base, mult, code, fpos, cols)
    if J == 4:
        return _codes_4(flat, base, mult, code, fpos, cols)
    if J == 5:
        return _codes_5(flat, base, mult, code, fpos, cols)
    return _codes_any(flat, base, mult, code, fpos, cols)


@_piece
def _threat_digits(col, thr, m, lim, code):
    """A fear channel's digit (``m`` its place) made "missing" where the threat ``thr[t]``
    is not 0: there its term is not the table's. Returns how many periods have a signal
    and a threat above ``lim`` (or infinite): :func:`_fix_periods` computes those."""
    n = 0
    for t in range(col.shape[0]):
        s = col[t]
        zero = s == 0.0
        one = s == 1.0
        th = thr[t]
        code[t] += m * (2 * zero + one) * (th != 0.0)  # digit 0 or 1 -> 2
        n += (zero | one) & (abs(th) > lim)
    return n


@_piece
def _table_rows(code, row, first, acc):
    """``acc[t]`` (``= 0`` first) ``+= row[code[t]]``: one type's row of a group's table."""
    if first:
        for t in range(code.shape[0]):
            acc[t] = row[code[t]]
    else:
        for t in range(code.shape[0]):
            acc[t] += row[code[t]]


@_fast
def _threat_exp(thr, e, ex):
    """``ex[t] = exp(e * thr[t])`` (kept within +-600): the factor of ``exp(l)`` that the
    types with this ``e`` share."""
    for t in range(1, thr.shape[0]):
        ex[t] = vexp(min(max(e * thr[t], -600.0), 600.0))


@_block
def _fear_table(col, thr, lim, w0, w1, acc):
    """A type without a fear loading (``e = 0``): the weighted zero-threat value ``w0``
    (signal 0) or ``w1`` (1) added to ``acc`` where the channel's digit was made missing
    (a signal, a threat other than 0 and at most ``lim``)."""
    for t in range(1, col.shape[0]):
        s = col[t]
        th = thr[t]
        use = (th != 0.0) & (abs(th) <= lim) & ((s == 0.0) | (s == 1.0))
        acc[t] += (w1 if s == 1.0 else w0) if use else 0.0


@_fast
def _fear_terms(col, thr, b, e, cb, lim, ex, pm):
    """One type's softplus of a fear channel, split for :func:`_flush`: in the periods
    ``t >= 1`` with a signal and a threat other than 0 and at most ``lim``, ``pm[0, t] *=
    1 + exp(l)`` and, for a signal 1, ``pm[1, t] += l``, ``l = b + e * thr``, ``exp(l) =
    exp(b) * exp(e thr)`` (``cb = exp(b)``, ``ex`` from :func:`_threat_exp`): the log
    probability of a signal ``s`` is ``s l - log(1 + exp(l))``. ``lim`` keeps ``l`` within
    what the product of the channels' factors takes. No division, no branch (vectorises;
    FMAs allowed)."""
    prod, sl = pm[0], pm[1]
    for t in range(1, col.shape[0]):
        s = col[t]
        th = thr[t]
        big = cb * ex[t]
        use = (th != 0.0) & (abs(th) <= lim) & ((s == 0.0) | (s == 1.0))
        prod[t] *= (1.0 + big) if use else 1.0
        sl[t] += (b + e * th) if use & (s == 1.0) else 0.0


@_block
def _flush(pm, w, acc):
    """``acc += w * (pm[1] - log(pm[0]))``: the weighted log probabilities of the fear
    channels gathered by :func:`_fear_terms`, one ``log`` per period for all channels of
    weight ``w`` (``sum_j log(1 + exp(l_j)) = log prod_j (1 + exp(l_j))``: within a few
    1e-16 times the largest ``l`` of the logs one by one); ``pm`` reset to ``(1, 0)``."""
    prod, sl = pm[0], pm[1]
    for t in range(acc.shape[0]):
        acc[t] += w * (sl[t] - vlog(prod[t]))
        prod[t] = 1.0
        sl[t] = 0.0


@_piece
def _fix_periods(col, thr, f, fear, acc):
    """Fear channel ``f``'s term in the periods :func:`_fear_terms` leaves out (a signal and
    a threat not finite or above the limit), with the equations' operations one by one:
    added to ``acc`` ``(K, T)`` unless some type's term is NaN (then it is missing, for
    every type)."""
    fbase, fef, ftable, fw, flim = fear[1], fear[2], fear[3], fear[4], fear[5]
    K = acc.shape[0]
    for t in range(1, col.shape[0]):
        s = col[t]
        th = thr[t]
        if not ((s == 0.0 or s == 1.0) and abs(th) > flim[f]):
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
def _fear_channels(fear, thr, cols, ex, pm, acc):
    """The fear channels' terms where the threat is not 0: per channel, ``exp(+-e * thr)``
    once per distinct ``e`` (``slot[f, k]``: the first type with type ``k``'s ``e``) and
    each type's softplus (:func:`_fear_terms`); one :func:`_flush` per type and run of
    channels with the same weight (they come sorted by weight)."""
    fch, fef, ftable, fw = fear[0], fear[2], fear[3], fear[4]
    flim, fexp, slot = fear[5], fear[6], fear[7]
    F, K = fef.shape
    f0 = 0
    for f in range(F):
        w = fw[f]
        for k in range(K):
            e = fef[f, k]
            if e == 0.0:
                w0, w1 = w * ftable[0, f, k], w * ftable[1, f, k]
                _fear_table(cols[fch[f]], thr, flim[f], w0, w1, acc[k])
                continue
            if slot[f, k] == k:
                _threat_exp(thr, e, ex[k])
            cb = fexp[0, f, k]
            _fear_terms(cols[fch[f]], thr, fear[1][f, k], e, cb, flim[f], ex[slot[f, k]], pm[k])
        if f == F - 1 or fw[f + 1] != w:
            for k in range(K):
                if np.any(fef[f0 : f + 1, k] != 0.0):
                    _flush(pm[k], w, acc[k])
            f0 = f + 1


@_piece
def _chunk_threat(u, h, c0, thr):
    """The threat ``h_{t-1} * max(u_{t-1}, 0)`` (NaN kept; NaN in period 0) of scenarios
    ``c0, c0 + 1, ...`` one after the other into ``thr`` (as ``terms[0] * terms[1]`` of
    :func:`_period_terms`)."""
    T = u.shape[1]
    for i in range(thr.shape[0] // T):
        s = c0 + i
        hs = h[0] if h.shape[0] == 1 else h[s]
        c = hs.shape[0]
        thr[i * T] = math.nan
        for t in range(1, T):
            um = u[s, t - 1]
            up = um if (um >= 0.0 or um != um) else 0.0
            thr[i * T + t] = (hs[t - 1] if c > 1 else hs[0]) * up


@_piece
def signal_rows(flat, u, h, c0, sig, scratch, flags):
    """The weighted signal log-likelihood of scenarios ``c0, c0 + 1, ...`` (as many as
    ``scratch`` holds, ``n``; ``flat``: the ``(S, T, J)`` signals, 0, 1 or NaN, flat) into
    ``scratch[2]`` ``(K, n * T)``, the scenarios' periods one after the other (the passes
    run over a chunk of scenarios at once: per scenario, their calls would cost as much as
    their ``T`` values): per period, the sum over
    channels of ``w_j`` times each channel's log probability, 0 where missing (the signal is
    NaN; or, on a channel with a fear term, the threat ``h_{t-1} * max(u_{t-1}, 0)``
    (:func:`_chunk_threat`) is NaN, as in period 0, or makes some type's term NaN).
    ``flags[0]`` counts signals neither 0, 1 nor NaN.

    ``sig`` = ``(mult, combo, fear)``. The channels come in groups of :data:`GROUP`
    (``j // GROUP``); in each period a group's digits (0, 1, missing; ``mult[j] = 3**(j %
    GROUP)``) index its table ``combo`` ``(G, K, 3**GROUP)``: the sum of the channels'
    weighted zero-threat log probabilities, one gather per type and group; a fear channel's
    digit is "missing" where the threat is not 0, and :func:`_fear_channels` adds its
    terms there. ``fear`` = ``(fch (F,), base (F, K), ef (F, K), table (2, F, K), w
    (F,), lim (F,), exp (2, F, K), slot (F, K))``: each channel with a fear term (and a
    weight other than 0), the logit at zero threat ``b``, ``e = eta_f * f``, the log
    probabilities of 0 and 1 at zero threat, the weight, the limit, ``exp(b)`` and
    ``exp(-b)``, and the first type with each type's ``e``; the channels come sorted by
    weight (:func:`_fear_channels`). ``scratch`` = ``(code (G, T) int64, thr (T,), acc (K,
    N), cols (J or 0, N), ex (K, N), pm (K, 2, N) = (1, 0))`` (``N = n * T``).
    """
    code, thr, acc, cols, ex, pm = scratch
    mult, combo, fear = sig
    fch = fear[0]
    if fch.shape[0] > 0:
        _chunk_threat(u, h, c0, thr)
    flags[0] += _codes(flat, c0 * u.shape[1] * mult.shape[0], mult, code, fch, cols)
    n_big = 0
    for f in range(fch.shape[0]):
        j = fch[f]
        n_big += _threat_digits(cols[j], thr, mult[j], fear[5][f], code[j // GROUP])
    for k in range(acc.shape[0]):
        for g in range(code.shape[0]):
            _table_rows(code[g], combo[g, k], g == 0, acc[k])
    _fear_channels(fear, thr, cols, ex, pm, acc)
    for f in range(fch.shape[0] if n_big > 0 else 0):
        _fix_periods(cols[fch[f]], thr, f, fear, acc)


#: Periods per chunk of scenarios in :func:`signal_rows` (its work arrays stay in L2).
CHUNK = 2048


@_piece
def signal_scratch(N, K, J, F):
    """Work arrays of :func:`signal_rows` for ``N`` periods."""
    G = (J + GROUP - 1) // GROUP
    code = np.zeros((G, N), dtype=np.int64)
    pm = np.zeros((K, 2, N))
    pm[:, 0] = 1.0
    cols = np.empty((J if F > 0 else 0, N))
    return code, np.zeros(N), np.empty((K, N)), cols, np.ones((K, N)), pm


@_piece
def _chunks(S, T, J, sig):
    """Scenarios per chunk (``C``) and the work arrays for a full chunk and the last one."""
    C = max(1, min(S, CHUNK // T))
    K, F = sig[1].shape[1], sig[2][0].shape[0]
    last = S - (S - 1) // C * C  # scenarios in the last chunk
    return C, signal_scratch(C * T, K, J, F), signal_scratch(last * T, K, J, F)


@_piece
def _rows(prm, h, x, s):
    """Scenario ``s``'s parameters, threat multipliers and row of levels (shared when one)."""
    v = prm[0] if prm.shape[0] == 1 else prm[s]
    hs = h[0] if h.shape[0] == 1 else h[s]
    sx = 0 if x.shape[0] == 1 else s
    return v, hs, sx


@_kernel
def loglik(dx, u, x, prm, h, noise, greed, fear, wb, chan, out):
    """The log-likelihood ``out`` ``(S, T, K)`` of moves ``dx``, ``u`` ``(S, T)`` (and
    signals: ``chan`` as for :func:`observe`), as :func:`observe` computes it."""
    S, T = dx.shape
    K = greed.shape[0]
    signals, sig, flags = chan
    moves = (dx, u, x, prm, h, noise, greed, fear)
    scratch = (np.empty((4, T)), np.empty((K, T)))
    J = sig[0].shape[0]
    flat = signals.reshape(signals.size)
    C, full, last = _chunks(S, T, J, sig)
    for c0 in range(0, S, C):
        sscr = full if c0 + C <= S else last
        if J > 0:
            signal_rows(flat, u, h, c0, sig, sscr, flags)
        for i in range(sscr[1].shape[0] // T):
            acc = sscr[2][:, i * T : (i + 1) * T]
            scenario_rows(moves, c0 + i, wb, J > 0, acc, scratch, out[c0 + i])


@_kernel
def observe(dx, u, x, prm, h, noise, greed, fear, wb, prior, trans, chan, filt, smoothed, evidence):
    """The posterior probabilities straight from the moves (and signals), scenario by scenario.

    ``prior`` = ``(log_prior (1 or S, K), smooth, probs)``; ``trans`` = ``(switching, A,
    log A)``; ``chan`` = ``(signals (S, T, J), sig, flags)`` with ``sig`` as for
    :func:`signal_rows` (``J`` = 0: no signals) and ``flags[0]`` the count of signal values
    neither 0, 1 nor NaN. ``probs`` (True: probabilities out) comes as an argument, not a
    constant, so that the scenario functions are compiled once for every kernel (a constant
    would be a new type). Returns the status of
    :func:`secdilemma.engines.exact._kernels.run_static`.
    """
    log_prior, smooth, probs = prior
    switching, A, log_A = trans
    signals, sig, flags = chan
    S, T = dx.shape
    K = greed.shape[0]
    moves = (dx, u, x, prm, h, noise, greed, fear)
    ll = np.empty((T, K))
    acc = np.empty(K)
    scratch = (np.empty((4, T)), np.empty((K, T)))
    J = sig[0].shape[0]
    flat = signals.reshape(signals.size)
    C, full, last = _chunks(S, T, J, sig)
    sc = _switching_scratch(T, K)
    bad = np.zeros(4, dtype=np.int64)
    for s in range(S):
        i = s % C
        sscr = full if s - i + C <= S else last
        if J > 0 and i == 0:
            signal_rows(flat, u, h, s, sig, sscr, flags)
        scenario_rows(moves, s, wb, J > 0, sscr[2][:, i * T : (i + 1) * T], scratch, ll)
        lp = log_prior[0] if log_prior.shape[0] == 1 else log_prior[s]
        sm = smoothed[s] if smooth else smoothed[0]
        if switching:
            st, t_bad, ev = switching_scenario(ll, lp, A, log_A, filt[s], sm, probs, smooth, sc)
        else:
            st, t_bad, ev = static_scenario(ll, lp, filt[s], sm, acc, sc[0], probs, smooth)
        evidence[s] = ev
        record(s, st, t_bad, bad)
    return bad[0], bad[1], bad[2], bad[3]
