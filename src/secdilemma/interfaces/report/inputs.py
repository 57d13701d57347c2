"""What a report is made of: the study's results, computed here or read from an output folder.

:func:`gather` completes a :class:`ReportInputs` from a :class:`~secdilemma.Study`, computing
what it is not given (the exact observer's belief, aware and naive, the evidence
decomposition, the decision); :func:`from_folder` does the same for an output folder of
``secdilemma fit``, ``main``, ``filter`` or ``decide``, reading the files it finds there
(``fit.nc``, ``posterior.nc``, ``evidence.nc``, ``decision.nc``, ``sweep.nc``, …) instead of
recomputing or refitting them. :func:`prior_sensitivity` redoes the last belief and the choice
under other priors over types.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from secdilemma.decision import decide
from secdilemma.errors import ParameterError
from secdilemma.io import load_dataset
from secdilemma.study import DEFAULT_N_SIMS, Study

__all__ = ["ReportInputs", "from_folder", "gather", "prior_sensitivity"]

#: Where each result lies in an output folder, first match wins: ``secdilemma main`` writes
#: ``exact/…`` and ``fit/…``; ``fit``, ``filter`` and ``decide`` write at the top.
FOLDER_FILES: dict[str, tuple[str, ...]] = {
    "fit": ("fit/fit.nc", "fit.nc"),
    "summary": ("fit/summary.json", "summary.json"),
    "posterior": ("exact/posterior.nc", "posterior.nc"),
    "evidence": ("exact/evidence.nc", "evidence.nc"),
    "naive": ("exact/naive/posterior.nc",),
    "decision": ("decision.nc",),
    "sweep": ("sweep.nc", "whatif/sweep.nc", "fit/sweep.nc"),
}


@dataclass
class ReportInputs:
    """Everything a report shows, as the library's own results.

    ``posterior`` is the exact observer's belief (the spec's observer kind), ``bare`` the
    same without the signal channels, ``aware``/``naive`` the two observer kinds on the same
    data; ``decision`` is :meth:`Study.decide`'s result by ``engine`` (``"exact"`` or
    ``"fit"``); ``fit_summary`` the fit's summary (diagnostics) where there is a fit;
    ``sweep`` a what-if sweep where one exists; ``priors`` the rows of
    :func:`prior_sensitivity`; ``origin`` says what the report was built from and
    ``reused`` which saved files it read.
    """

    study: Study
    posterior: xr.Dataset
    bare: xr.Dataset
    evidence: xr.Dataset
    aware: xr.Dataset
    naive: xr.Dataset
    decision: xr.Dataset
    engine: str
    priors: list[dict[str, Any]]
    origin: str
    fit_summary: dict[str, Any] | None = None
    sweep: xr.Dataset | None = None
    reused: list[str] = field(default_factory=list)


def gather(
    study: Study,
    *,
    engine: str | None = None,
    posterior: xr.Dataset | None = None,
    evidence: xr.Dataset | None = None,
    naive: xr.Dataset | None = None,
    decision: xr.Dataset | None = None,
    fit_summary: dict[str, Any] | None = None,
    sweep: xr.Dataset | None = None,
    n_sims: int = DEFAULT_N_SIMS,
    origin: str = "",
    reused: Sequence[str] = (),
) -> ReportInputs:
    """A report's inputs for ``study``, computing those not given.

    ``engine`` is whose belief the decision uses: ``"fit"`` where the study has a fit
    (:attr:`Study.model_`), else ``"exact"`` (default: by whether there is a fit). Without a
    fit no sampler runs: the report uses the exact observer and says so.
    """
    engine = engine or ("fit" if study.model_ is not None else "exact")
    if engine not in ("exact", "fit"):
        raise ParameterError(f"gather: engine must be 'exact' or 'fit'; got {engine!r}.")
    kind = study.spec.observer.kind
    if posterior is None:
        posterior = study.belief("exact")
    kind = str(posterior.attrs.get("study_observer", kind))
    aware = posterior if kind == "aware" else study.belief("exact", observer="aware")
    if naive is None:
        naive = posterior if kind == "naive" else study.belief("exact", observer="naive")
    if evidence is None:
        evidence = study.evidence(observer=kind)
    if decision is None:
        decision = study.decide(engine, n_sims=n_sims)  # type: ignore[arg-type]
    if engine == "fit" and fit_summary is None and study.model_ is not None:
        fit_summary = study.model_.summary()
    return ReportInputs(
        study=study,
        posterior=posterior,
        bare=study.belief("exact", observer=kind, signals=False),
        evidence=evidence,
        aware=aware,
        naive=naive,
        decision=decision,
        engine=engine,
        priors=prior_sensitivity(study, decision, kind),
        origin=origin or f"{study.setting.source} {study.setting.name}",
        fit_summary=fit_summary,
        sweep=sweep,
        reused=list(reused),
    )


def _find(folder: Path, what: str) -> Path | None:
    return next((folder / f for f in FOLDER_FILES[what] if (folder / f).is_file()), None)


def from_folder(folder: str | Path, *, n_sims: int = DEFAULT_N_SIMS) -> ReportInputs:
    """A report's inputs from an output folder of ``secdilemma main``, ``fit``, ``filter`` or
    ``decide``: a saved fit is reloaded (:meth:`Study.from_fit`), never refitted; saved
    beliefs, evidence, decision and sweep are read; the rest is computed.

    Raises :class:`~secdilemma.errors.ParameterError` naming the folder when it does not
    exist or holds neither a fit nor a saved belief or decision to rebuild the study from.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ParameterError(
            f"STUDY_OR_FIT: {folder} is not a folder, a bundled case or a spec file; give a "
            "case (secdilemma cases), a spec (.toml), --dyad A:B or an output folder of "
            "`secdilemma fit` or `secdilemma main`."
        )
    found = {w: _find(folder, w) for w in FOLDER_FILES}
    loaded = {w: load_dataset(p) for w, p in found.items() if p is not None and w in _DATASETS}
    fit = found["fit"]
    if fit is not None:
        study = Study.from_fit(fit)
    else:
        saved = next((loaded[w] for w in ("decision", "posterior") if w in loaded), None)
        if saved is None or "study_setting" not in saved.attrs:
            raise ParameterError(
                f"STUDY_OR_FIT: {folder} holds no fit.nc and no posterior.nc or decision.nc "
                "of a study; give the output folder of `secdilemma fit`, `main`, `filter` or "
                "`decide`, or a case, a spec or --dyad A:B."
            )
        study = _study_from_setting(json.loads(saved.attrs["study_setting"]), folder)
    summary = None
    if found["summary"] is not None:
        summary = json.loads(found["summary"].read_text(encoding="utf-8"))
    decision = loaded.get("decision")
    engine = str(decision.attrs.get("study_engine", "")) if decision is not None else None
    return gather(
        study,
        engine=engine or None,
        posterior=loaded.get("posterior"),
        evidence=loaded.get("evidence"),
        naive=loaded.get("naive"),
        decision=decision,
        fit_summary=summary,
        sweep=loaded.get("sweep"),
        n_sims=n_sims,
        origin=f"output folder {folder}",
        reused=[str(p.relative_to(folder)) for p in found.values() if p is not None],
    )


_DATASETS = ("posterior", "evidence", "naive", "decision", "sweep")


def _study_from_setting(setting: Mapping[str, Any], folder: Path) -> Study:
    """The study a saved result's ``study_setting`` describes (a case, spec or dyad)."""
    given: dict[str, Any] = {
        k: setting[k]
        for k in (
            "start",
            "end",
            "omega",
            "delta",
            "prior",
            "observer",
            "params",
            "horizon",
            "seed",
        )
        if setting.get(k) is not None
    }
    for name in ("omega", "delta"):
        if isinstance(given.get(name), Mapping):
            given[name] = {int(k): float(v) for k, v in given[name].items()}
    source = setting.get("source")
    if source == "dyad":
        return Study.from_dyad(setting["observer_state"], setting["rival_state"], **given)
    target = setting.get("spec_path") or setting.get("name")
    if not target:
        raise ParameterError(
            f"STUDY_OR_FIT: the results in {folder} do not say which case or spec made them; "
            "give the case or spec instead."
        )
    return Study(target, **given)


def _leaning(types: Sequence[str], lean: str, weight: float = 0.6) -> dict[str, float]:
    rest = (1.0 - weight) / max(len(types) - 1, 1)
    return {t: (weight if t == lean else rest) for t in types}


def prior_sensitivity(study: Study, decision: xr.Dataset, kind: str) -> list[dict[str, Any]]:
    """The last belief and the choice under other priors over types.

    For the spec's prior, a uniform one and, for each type, one leaning towards it (0.6 on
    it, the rest shared equally), the exact observer of kind ``kind`` is refiltered on the
    same data; the choice is made with the decision's utility table (``decision.utility``,
    averaged over parameter draws for a fit), so only the belief changes. Each row gives
    ``label``, ``prior``, ``belief`` ({type: p}), ``p_greed``, ``recommended``,
    ``p_best`` ({action: p}) and ``evpi``.
    """
    types = [str(t) for t in decision["rival_type"].values]
    spec_prior = study.setting.prior
    candidates: list[tuple[str, Any]] = [("the spec's prior", spec_prior)]
    if spec_prior != "uniform":
        candidates.append(("uniform", "uniform"))
    candidates += [(f"leaning {t}", _leaning(types, t)) for t in types]
    rows = []
    for label, prior in candidates:
        alt = Study(study.spec, prior=prior, params=study.params)
        belief = alt.belief("exact", observer=kind)["filtered"].isel(period=-1)
        res = decide(belief, payoffs=decision["utility"])
        rows.append(
            {
                "label": label,
                "prior": {t: 1.0 / len(types) for t in types} if prior == "uniform" else prior,
                "belief": {t: float(belief.sel(rival_type=t)) for t in types},
                "p_greed": float(res["p_greed"]),
                "recommended": str(res.attrs["recommended"]),
                "p_best": {
                    str(a): float(res["p_best"].sel(action=a)) for a in res["action"].values
                },
                "evpi": float(res["evpi"]),
                "threshold": _finite(float(res["threshold"])),
            }
        )
    return rows


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
