"""One headline belief, and where the two engines part.

Every output that recommends an action leads with the belief the decision used and the
engine it came from (:func:`decision_headline`). When both engines ran, the exact
observer's final belief and the fit's posterior mean are compared type by type
(:func:`compare_engines`): a difference larger than the Monte Carlo error is reported, with
why the engines differ and which engine reconciles them.

Monte Carlo error: the fit's is ``sd / sqrt(n / 4)`` over its ``n`` draws of the final type
probability (an effective sample size of about a quarter of the draws); the exact observer
with fixed parameters has none; the integrated exact observer
(:mod:`secdilemma.study.integrated`) reports its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.errors import ParameterError

if TYPE_CHECKING:
    from secdilemma.study.study import Study

__all__ = ["EngineComparison", "compare_engines", "decision_headline", "study_engines"]

#: Differences within this many Monte Carlo standard errors count as agreement.
DEFAULT_Z = 2.0

_WHY = (
    "the exact observer fixes the coefficients at the pooled reference's point, while the "
    "fit integrates over them and learns mu and sigma from this case"
)


@dataclass(frozen=True)
class EngineComparison:
    """The exact observer's final belief against the fit's posterior mean (plain data).

    Attributes
    ----------
    types
        The rival types, in order.
    exact, fit
        ``{type: probability}``: the exact observer's final belief; the fit's posterior mean.
    mc_error
        ``{type: s.e.}``: the Monte Carlo error of the difference (the fit's and the exact
        observer's combined).
    difference
        ``{type: fit - exact}``.
    differs
        Whether some type differs by more than ``z`` Monte Carlo errors.
    largest
        The type whose difference is largest relative to its Monte Carlo error.
    integrated, integrated_agrees
        The integrated exact observer's final belief and whether it agrees with the fit
        within ``z`` Monte Carlo errors on every type (``None`` when not given).
    z
        The multiple of the Monte Carlo error that counts as a difference.
    sentence
        The comparison in one sentence, with why the engines differ where they do.
    """

    types: tuple[str, ...]
    exact: dict[str, float]
    fit: dict[str, float]
    mc_error: dict[str, float]
    difference: dict[str, float]
    differs: bool
    largest: str
    integrated: dict[str, float] | None
    integrated_agrees: bool | None
    z: float
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """The comparison as a JSON-ready dict."""
        return asdict(self)


def _vector(x: Any, types: tuple[str, ...] | None, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """A belief vector ``(K,)`` and its type names from a mapping or a DataArray."""
    if isinstance(x, Mapping):
        names = tuple(str(k) for k in x)
        vals = np.asarray([float(v) for v in x.values()])
    elif isinstance(x, xr.DataArray) and x.dims == ("rival_type",):
        names = tuple(str(k) for k in x["rival_type"].values)
        vals = np.asarray(x.values, dtype=float)
    else:
        raise ParameterError(
            f"compare_engines: `{name}` must be a {{type: p}} mapping or a DataArray over "
            f"rival_type only; got {type(x).__name__}"
            + (f" with dims {x.dims}" if isinstance(x, xr.DataArray) else "")
            + "."
        )
    if types is not None and set(names) != set(types):
        raise ParameterError(
            f"compare_engines: `{name}` has types {list(names)}; expected {list(types)}."
        )
    if not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise ParameterError(f"compare_engines: `{name}` must hold probabilities >= 0.")
    if types is not None:
        order = [names.index(t) for t in types]
        vals, names = vals[order], types
    return vals, names


def _draws(fit_draws: Any) -> tuple[np.ndarray, tuple[str, ...]]:
    """The fit's draws ``(n, K)`` of the final type probability, and the type names."""
    if not isinstance(fit_draws, xr.DataArray) or "rival_type" not in fit_draws.dims:
        raise ParameterError(
            "compare_engines: `fit_draws` must be a DataArray with a rival_type dim (the "
            "fit's type_probability, Study.belief('fit')); got "
            f"{type(fit_draws).__name__}."
        )
    da = fit_draws
    if "dyad" in da.dims:
        if da.sizes["dyad"] != 1:
            raise ParameterError(
                "compare_engines: `fit_draws` has several dyads; select one (.sel(dyad=...))."
            )
        da = da.isel(dyad=0)
    names = tuple(str(k) for k in da["rival_type"].values)
    others = [d for d in da.dims if d != "rival_type"]
    vals = np.asarray(da.transpose(*others, "rival_type").values, dtype=float)
    vals = vals.reshape(-1, len(names))
    if vals.shape[0] < 2 or not np.all(np.isfinite(vals)):
        raise ParameterError(
            f"compare_engines: `fit_draws` needs at least 2 finite draws; got {vals.shape[0]}."
        )
    return vals, names


def compare_engines(
    exact: Any,
    fit_draws: Any,
    *,
    exact_mc_error: Any = None,
    integrated: Any = None,
    integrated_mc_error: Any = None,
    z: float = DEFAULT_Z,
) -> EngineComparison:
    """Compare the exact observer's final belief with the fit's, within Monte Carlo error.

    Parameters
    ----------
    exact
        The exact observer's final belief: ``{type: p}`` or a DataArray over ``rival_type``.
    fit_draws
        The fit's draws of the final type probability: a DataArray with a ``rival_type``
        dim (e.g. ``chain``, ``draw``, and a ``dyad`` of size 1).
    exact_mc_error
        The exact belief's Monte Carlo error per type (same forms as ``exact``); ``None``
        for fixed parameters (none).
    integrated, integrated_mc_error
        The integrated exact observer's final belief and Monte Carlo error
        (:meth:`secdilemma.Study.integrated`), to say whether it reconciles the engines.
    z
        A difference counts when it exceeds ``z`` Monte Carlo errors (default 2).

    Returns
    -------
    EngineComparison

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> draws = xr.DataArray(np.tile([0.6, 0.1, 0.3], (400, 1)) + [0.02, 0.0, -0.02] *
    ...     np.linspace(-1, 1, 400)[:, None], dims=("draw", "rival_type"),
    ...     coords={"rival_type": ["greedy", "insecure", "mixed"]})
    >>> cmp = compare_engines({"greedy": 0.4, "insecure": 0.1, "mixed": 0.5}, draws)
    >>> cmp.differs, cmp.largest, round(cmp.difference["greedy"], 2)
    (True, 'greedy', 0.2)
    >>> compare_engines({"greedy": 0.6, "insecure": 0.1, "mixed": 0.3}, draws).differs
    False
    """
    if isinstance(z, bool) or not isinstance(z, int | float) or not z > 0 or math.isinf(z):
        raise ParameterError(f"compare_engines: `z` must be a number > 0; got {z!r}.")
    draws, types = _draws(fit_draws)
    ex, _ = _vector(exact, types, "exact")
    n = draws.shape[0]
    fit = draws.mean(axis=0)
    fit_se = draws.std(axis=0, ddof=1) / math.sqrt(max(n / 4.0, 1.0))
    se = fit_se
    if exact_mc_error is not None:
        se = np.hypot(fit_se, _vector(exact_mc_error, types, "exact_mc_error")[0])
    diff = fit - ex
    ratio = np.abs(diff) / np.maximum(se, 1e-12)
    differs = bool(np.any(ratio > z))
    largest = types[int(np.argmax(ratio))]
    integ: dict[str, float] | None = None
    agrees: bool | None = None
    if integrated is not None:
        iv = _vector(integrated, types, "integrated")[0]
        ise = fit_se
        if integrated_mc_error is not None:
            ise = np.hypot(fit_se, _vector(integrated_mc_error, types, "integrated_mc_error")[0])
        agrees = bool(np.all(np.abs(fit - iv) <= z * np.maximum(ise, 1e-12)))
        integ = dict(zip(types, iv.tolist(), strict=True))
    plain = {k: dict(zip(types, v.tolist(), strict=True)) for k, v in
             (("exact", ex), ("fit", fit), ("se", se), ("diff", diff))}  # fmt: skip
    sentence = _sentence(plain, largest, differs, integ, agrees, z)
    return EngineComparison(
        types, plain["exact"], plain["fit"], plain["se"], plain["diff"], differs, largest,
        integ, agrees, float(z), sentence,
    )  # fmt: skip


def _sentence(
    v: dict[str, dict[str, float]],
    k: str,
    differs: bool,
    integ: dict[str, float] | None,
    agrees: bool | None,
    z: float,
) -> str:
    at = f"P({k}) = {v['exact'][k]:.3f} (exact observer) against {v['fit'][k]:.3f} (fit)"
    err = f"Monte Carlo error {v['se'][k]:.3f}"
    if not differs:
        return f"The engines agree within {z:g} x Monte Carlo error: {at}, {err}."
    text = f"The engines differ by more than {z:g} x Monte Carlo error: {at}, {err}: {_WHY}."
    if integ is None:
        return text + (
            " Study(params='integrated') integrates the exact observer over the fit's prior "
            "and reconciles the two where it agrees with the fit."
        )
    how = "agrees with the fit" if agrees else "does not agree with the fit either"
    return text + (
        f" The exact observer integrated over the fit's prior (Study(params='integrated')) "
        f"gives P({k}) = {integ[k]:.3f} and {how}"
        + (
            ", so the difference is the coefficients' uncertainty."
            if agrees
            else " (with signals its prior is not yet the fit's; see secdilemma.study.integrated)."
        )
    )


def decision_headline(res: xr.Dataset) -> str:
    """The headline belief of a decision: the belief it used, and the engine it came from.

    Parameters
    ----------
    res
        A decision (:meth:`secdilemma.Study.decide` stamps ``study_engine`` and
        ``study_belief``; a bare :func:`secdilemma.decide` result names no engine).

    Returns
    -------
    str

    Examples
    --------
    >>> import secdilemma as sd
    >>> from secdilemma.decision import kydd_payoffs
    >>> res = sd.decide({"greedy": 0.25, "insecure": 0.75}, payoffs=kydd_payoffs(0.5, 0.5))
    >>> res.attrs.update(study_engine="exact", study_belief="exact observer's belief at 1913")
    >>> decision_headline(res)
    "headline belief (exact engine: exact observer's belief at 1913): P(greedy)=0.25, \
P(insecure)=0.75; P(greed motive) = 0.250"
    """
    if not isinstance(res, xr.Dataset) or "belief" not in res or "p_greed" not in res:
        raise ParameterError(
            "decision_headline: `res` must be the Dataset of decide() (with belief, p_greed)."
        )
    b = res["belief"]
    text = ", ".join(f"P({t})={float(b.sel(rival_type=t)):.2f}" for t in b.rival_type.values)
    engine = res.attrs.get("study_engine") or "no"
    label = res.attrs.get("study_belief")
    source = f"{engine} engine: {label}" if label else f"{engine} engine"
    return f"headline belief ({source}): {text}; P(greed motive) = {float(res['p_greed']):.3f}"


def study_engines(
    study: Study, exact: xr.Dataset | None = None, *, z: float = DEFAULT_Z
) -> EngineComparison:
    """:func:`compare_engines` on a fitted study: its exact observer's final belief (the
    ``exact`` posterior of :meth:`~secdilemma.Study.belief` when given), the fit's draws, and
    the exact observer integrated over the fit's prior (:meth:`~secdilemma.Study.integrated`,
    a second or two) to say whether it reconciles them.

    Raises :class:`~secdilemma.errors.ParameterError` when the study has no fit yet (run
    :meth:`~secdilemma.Study.fit` first: this function never starts one).

    Examples
    --------
    >>> # study.fit(); print(study_engines(study).sentence)
    """
    if study.model_ is None:
        raise ParameterError(
            "study_engines: `study` has no fit; run study.fit() first (minutes), or compare "
            "with compare_engines()."
        )
    post = study.belief("exact") if exact is None else exact
    ib = study.integrated()
    final = ib.posterior["filtered"].isel(period=-1)
    return compare_engines(
        post["filtered"].isel(period=-1),
        study.belief("fit")["type_probability"],
        exact_mc_error=ib.posterior["mc_se"] if study.params == "integrated" else None,
        integrated=final,
        integrated_mc_error=ib.posterior["mc_se"],
        z=z,
    )
