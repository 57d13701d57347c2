"""Posture channels (issue 12, Jervis's second variable): the rival's own force posture is
evidence about its type the more, the more offense and defense can be told apart.

References: the law years from the raw events file (not the package's output), delta = 0 as
"no information" (a closed form: every type's term equal), and the spec's stated prior.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from secdilemma import Study
from secdilemma._paths import cases_dir
from secdilemma.errors import SpecError
from secdilemma.interfaces.plots.evidence import greed_log_odds
from secdilemma.spec import ModelSpec
from secdilemma.spec.sections import DEFAULT_POSTURE_PRIOR

CASE = "anglo_german_naval"


def _law_years() -> set[int]:
    """The rival's force-posture laws, read from the case's events file itself."""
    path = cases_dir() / CASE / "events.csv"
    with path.open(newline="") as fh:
        return {
            int(r["year"])
            for r in csv.DictReader(fh)
            if r["channel"] == "force_posture_law" and r["role"] == "rival"
        }


def test_the_naval_laws_are_the_rivals_posture_laws() -> None:
    assert _law_years() == {1898, 1900, 1906, 1908, 1912}


def test_the_naval_case_reads_its_laws_as_a_posture_channel() -> None:
    study = Study(CASE)
    params, how = study._exact_params()
    sp = params.signals
    assert sp is not None
    assert sp.posture is not None
    j = sp.names.index("force_posture_law")
    assert sp.posture.tolist() == [n == "force_posture_law" for n in sp.names]
    assert sp.eta_g[j] == DEFAULT_POSTURE_PRIOR["mu"]
    assert sp.eta_f[j] == 0.0
    assert how["force_posture_law"].startswith("posture channel")
    assert "assumption" in how["force_posture_law"]


@pytest.mark.parametrize("delta", [0.0, 0.25, 0.6, 1.0])
def test_what_a_posture_reveals_grows_with_distinguishability(delta: float) -> None:
    """At delta = 0 the laws say nothing (every type's term equal); above it, a law year
    pushes toward the greed-motivated types and a year without one away, each the more the
    larger delta; the intercept is the channel's own and does not move with delta."""
    study = Study(CASE, delta=delta)
    odds = greed_log_odds(study.evidence()).sel(source="force_posture_law")
    laws = np.isin(odds["period"].values, sorted(_law_years()))
    if delta == 0.0:
        np.testing.assert_allclose(odds.values, 0.0, atol=1e-12)
        return
    assert np.all(odds.values[laws] > 0)
    assert np.all(odds.values[~laws] < 0)
    lower = greed_log_odds(Study(CASE, delta=delta / 2).evidence()).sel(source="force_posture_law")
    assert np.all(np.abs(odds.values) > np.abs(lower.values))
    e0 = study.exact_params().signals.eta0[0]  # type: ignore[union-attr]
    assert e0 == Study(CASE, delta=0.0).exact_params().signals.eta0[0]  # type: ignore[union-attr]


def test_a_stated_posture_prior_replaces_the_default() -> None:
    spec = ModelSpec.from_dict(
        {"data": {"case": CASE},
         "signals": {"channels": ["force_posture_law"], "posture": ["force_posture_law"],
                     "posture_prior": {"dist": "normal", "mu": -0.5, "sigma": 1.0}},
         "world": {"delta": 0.8}}
    )  # fmt: skip
    study = Study(spec)
    params, how = study._exact_params()
    assert params.signals is not None
    assert params.signals.eta_g[0] == -0.5
    assert "the spec's posture prior" in how["force_posture_law"]
    odds = greed_log_odds(study.evidence()).sel(source="force_posture_law")
    laws = np.isin(odds["period"].values, sorted(_law_years()))
    assert np.all(odds.values[laws] < 0)  # the analyst's sign, read as stated


@pytest.mark.parametrize(
    ("signals", "key"),
    [
        ({"channels": ["force_posture_law"], "posture": ["use_of_force"]}, "signals.posture"),
        ({"channels": [], "posture": ["force_posture_law"]}, "signals.posture"),
        ({"channels": ["force_posture_law"], "posture_prior": 1.0}, "signals.posture_prior"),
        ({"channels": ["force_posture_law"], "posture": ["force_posture_law"],
          "posture_prior": {"dist": "lognormal", "median": 1.0, "log_sd": 1.0}},
         "signals.posture_prior.dist"),
    ],
)  # fmt: skip
def test_bad_posture_keys_are_named(signals: dict[str, object], key: str) -> None:
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        ModelSpec.from_dict({"data": {"case": CASE}, "signals": signals})


def test_posture_keys_round_trip() -> None:
    spec = Study(CASE).spec
    assert ModelSpec.from_dict(spec.to_dict()).signals == spec.signals
    assert spec.signals.posture == ("force_posture_law",)
