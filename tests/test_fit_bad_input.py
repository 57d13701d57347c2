"""Bad input to the PyMC engine: files that are not fits (``load``, ``Study.from_fit``) and
bad arguments of the public entry points, each a typed error that names the file or the
argument, raised before anything is compiled."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pymc as pm
import pytest
import xarray as xr
from pymc.testing import mock_sample

from secdilemma import Study
from secdilemma.engines.pymc import ConvergenceWarning, PerceptionModel, load
from secdilemma.errors import DataError, ParameterError, SecdilemmaError, SpecError
from secdilemma.model.simulate import simulate
from secdilemma.spec import ModelSpec


@pytest.fixture(scope="module")
def fitted() -> PerceptionModel:
    """A fit of two simulated dyads by PyMC's mock sampler (no compilation)."""
    data = simulate(n_periods=8, n_scenarios=2, seed=3)
    m = PerceptionModel(ModelSpec.from_dict({"sampler": {"seed": 5}}), data=data)
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        mp.setattr(pm, "sample", mock_sample)
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(sampler="pymc", chains=2, draws=10)
    return m


@pytest.fixture(scope="module")
def good(fitted: PerceptionModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fitted.save(tmp_path_factory.mktemp("good") / "fit.nc")


# -- files that are not secdilemma fits ------------------------------------------------------
def _altered(good: Path, path: Path, change: Callable[[xr.DataTree], Any]) -> Path:
    """The good fit with ``change`` applied, written to ``path``."""
    with xr.open_datatree(good, engine="h5netcdf") as dt:
        tree = dt.load().copy()
    out = change(tree)
    (tree if out is None else out).to_netcdf(path, engine="h5netcdf")
    return path


def _attrs(**attrs: Any) -> Callable[[xr.DataTree], None]:
    def change(tree: xr.DataTree) -> None:
        for key, value in attrs.items():
            if value is None:
                del tree.attrs[key]
            else:
                tree.attrs[key] = value

    return change


def _without_dx(tree: xr.DataTree) -> xr.DataTree:
    d = tree.to_dict()
    d["/observed_data"] = d["/observed_data"].drop_vars("dx")
    out = xr.DataTree.from_dict(d)
    out.attrs = tree.attrs
    return out


def _groups_only(tree: xr.DataTree) -> xr.DataTree:
    out = xr.DataTree(xr.Dataset({"x": ("i", [1.0, 2.0])}))
    out.attrs = tree.attrs
    return out


def _write(data: bytes) -> Callable[[Path, Path], Path]:
    def make(good: Path, path: Path) -> Path:
        path.write_bytes(data)
        return path

    return make


def _truncated(good: Path, path: Path) -> Path:
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return path


def _folder(good: Path, path: Path) -> Path:
    path.mkdir()
    return path


def _random_netcdf(engine: Literal["scipy", "h5netcdf"]) -> Callable[[Path, Path], Path]:
    def make(good: Path, path: Path) -> Path:
        rng = np.random.default_rng(0)
        xr.Dataset({"x": ("i", rng.normal(size=5))}).to_netcdf(path, engine=engine)
        return path

    return make


def _change(change: Callable[[xr.DataTree], Any]) -> Callable[[Path, Path], Path]:
    return lambda good, path: _altered(good, path, change)


NOT_READABLE = r"is not a secdilemma fit \(not a readable NetCDF-4 file"
BAD_FILES: dict[str, tuple[Callable[[Path, Path], Path], type[SecdilemmaError], str]] = {
    "missing": (lambda good, path: path, DataError, "no such fit file"),
    "folder": (_folder, DataError, "is a folder, not a fit file"),
    "empty": (_write(b""), DataError, NOT_READABLE),
    "text named .nc": (_write(b"dx,u\n0.1,0.2\n"), DataError, NOT_READABLE),
    "truncated fit": (_truncated, DataError, NOT_READABLE),
    "netCDF-3": (_random_netcdf("scipy"), DataError, NOT_READABLE),
    "NetCDF of random variables": (
        _random_netcdf("h5netcdf"),
        DataError,
        r"is not a secdilemma fit \(no 'spec' attribute\)",
    ),
    "no groups": (_change(_groups_only), DataError, r"\(no 'posterior' group\)"),
    "a variable missing": (
        _change(_without_dx),
        DataError,
        r"\(the 'observed_data' group lacks \['dx'\]\)",
    ),
    "no version": (
        _change(_attrs(secdilemma_version=None)),
        DataError,
        r"\(no 'secdilemma_version' attribute\)",
    ),
    "another version": (
        _change(_attrs(secdilemma_version="0.0.1")),
        SpecError,
        r"written by secdilemma 0\.0\.1, this is .*Refit",
    ),
    "spec not JSON": (
        _change(_attrs(spec="{not json")),
        DataError,
        r"is not a secdilemma fit \(its 'spec' attribute is not valid JSON",
    ),
    "spec not text": (_change(_attrs(spec=7)), DataError, r"'spec' attribute is not text"),
    "spec a JSON list": (
        _change(_attrs(spec="[1, 2]")),
        DataError,
        r"stored spec is a JSON list, not an object",
    ),
    "spec valid JSON, not a valid spec": (
        _change(_attrs(spec=json.dumps({"world": {"omega": "high"}}))),
        SpecError,
        r"the stored spec is not a valid spec \(.*world\.omega.*must be a number",
    ),
    "diagnostics not JSON": (
        _change(_attrs(diagnostics="ok")),
        DataError,
        r"its 'diagnostics' attribute is not valid JSON",
    ),
    "seed not a seed": (
        _change(_attrs(seed=-3)),
        DataError,
        r"its 'seed' attribute -3 is not a seed",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_load_names_a_file_that_is_not_a_fit(kind: str, good: Path, tmp_path: Path) -> None:
    make, error, match = BAD_FILES[kind]
    path = make(good, tmp_path / "fit.nc")
    with pytest.raises(error, match=match) as info:
        load(path)
    assert str(info.value).startswith(str(path))
    assert type(info.value) is error  # not a JSONDecodeError, KeyError, OSError, ...


@pytest.mark.parametrize("kind", ["spec not JSON", "NetCDF of random variables", "empty"])
def test_study_from_fit_names_a_file_that_is_not_a_fit(
    kind: str, good: Path, tmp_path: Path
) -> None:
    make, error, match = BAD_FILES[kind]
    path = make(good, tmp_path / "fit.nc")
    with pytest.raises(error, match=match):
        Study.from_fit(path)


def test_the_good_fit_loads(good: Path, fitted: PerceptionModel) -> None:
    back = load(good)
    assert back.spec == fitted.spec
    assert back.idata_ is not None
    assert back.idata_.attrs["seed"] == 5


# -- bad arguments of the entry points ---------------------------------------------------------
@pytest.fixture
def uncompilable(monkeypatch: pytest.MonkeyPatch) -> PerceptionModel:
    """A model whose building fails loudly: an argument check must come first."""

    def build(self: PerceptionModel) -> None:
        raise AssertionError("built or compiled before the arguments were checked")

    monkeypatch.setattr(PerceptionModel, "build_model", build)
    return PerceptionModel(ModelSpec.from_dict({}), data=simulate(n_periods=5, seed=1))


BAD_FIT_ARGS: list[tuple[dict[str, Any], str]] = [
    ({"chains": 0}, "chains"),
    ({"chains": 1.5}, "chains"),
    ({"chains": True}, "chains"),
    ({"draws": -1}, "draws"),
    ({"draws": "100"}, "draws"),
    ({"tune": "x"}, "tune"),
    ({"tune": -1}, "tune"),
    ({"seed": -1}, "seed"),
    ({"seed": 2**63}, "seed"),
    ({"seed": 1.0}, "seed"),
    ({"sampler": "jax"}, "sampler"),
    ({"sampler": ["pymc"]}, "sampler"),
    ({"target_accept": 2}, "target_accept"),
    ({"target_accept": float("nan")}, "target_accept"),
    ({"target_accept": "0.9"}, "target_accept"),
    ({"cores": 0}, "cores"),
]


@pytest.mark.parametrize(("kwargs", "name"), BAD_FIT_ARGS, ids=lambda v: repr(v))
def test_fit_names_a_bad_argument(
    kwargs: dict[str, Any], name: str, uncompilable: PerceptionModel
) -> None:
    with pytest.raises(ParameterError, match=rf"^fit: argument '{name}' must be"):
        uncompilable.fit(progressbar=False, **kwargs)


def test_fit_takes_numpy_numbers() -> None:
    from secdilemma.engines.pymc.sampling import SamplerSettings

    kwargs: dict[str, Any] = {"chains": np.int64(2), "draws": np.int32(5), "tune": np.int64(0),
                              "seed": np.uint64(7), "target_accept": np.float32(0.8),
                              "cores": np.int8(1)}  # fmt: skip
    s = SamplerSettings.resolve(ModelSpec.from_dict({}), **kwargs)
    assert (s.chains, s.draws, s.tune, s.seed, s.cores) == (2, 5, 0, 7, 1)
    assert all(type(v) is int for v in (s.chains, s.draws, s.tune, s.seed, s.cores))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda m: m.prior_predictive(draws=0), "draws"),
        (lambda m: m.prior_predictive(draws="10"), "draws"),
        (lambda m: m.prior_predictive(seed=-1), "seed"),
        (lambda m: m.posterior_predictive(seed=-1), "seed"),
        (lambda m: m.belief_draws(max_draws=0), "max_draws"),
        (lambda m: m.belief_draws(max_draws=2.5), "max_draws"),
        (lambda m: m.belief_draws(seed="x"), "seed"),
    ],
    ids=[
        "prior draws=0",
        "prior draws='10'",
        "prior seed=-1",
        "posterior seed=-1",
        "belief max_draws=0",
        "belief max_draws=2.5",
        "belief seed='x'",
    ],
)
def test_methods_name_a_bad_argument_before_building(
    call: Callable[[PerceptionModel], Any], name: str, uncompilable: PerceptionModel
) -> None:
    with pytest.raises(ParameterError, match=rf"argument '{name}' must be"):
        call(uncompilable)


@pytest.mark.parametrize("dyad", ["nope", 7, [0], np.array([0]), True])
def test_belief_draws_names_a_dyad_not_in_the_fit(fitted: PerceptionModel, dyad: Any) -> None:
    with pytest.raises(ParameterError, match=r"belief_draws: argument 'dyad' .* is not in the fit"):
        fitted.belief_draws(dyad=dyad)
    belief, _ = fitted.belief_draws(dyad=1, max_draws=3)  # a label of the fit works
    assert belief.attrs["dyad"] == "1"


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("/no/such/spec.toml", SpecError, r"/no/such/spec\.toml: no such spec file"),
        (42, ParameterError, r"argument 'spec' must be a ModelSpec or the path"),
        (None, ParameterError, r"argument 'spec' must be a ModelSpec or the path"),
        ({"world": {}}, ParameterError, r"argument 'spec'.*ModelSpec\.from_dict"),
    ],
)
def test_perception_model_names_a_bad_spec(spec: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        PerceptionModel(spec)


def test_perception_model_names_bad_data() -> None:
    with pytest.raises(ParameterError, match=r"argument 'data' must be an xarray\.Dataset"):
        PerceptionModel(ModelSpec.from_dict({}), data={"dx": [0.1]})  # type: ignore[arg-type]
