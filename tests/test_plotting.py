"""The posterior plot: checked by its artists, never by its pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from secdilemma.errors import ParameterError
from secdilemma.observers import Observer
from secdilemma.plotting import plot_type_posterior
from secdilemma.simulate import simulate


@pytest.fixture
def posterior() -> xr.DataArray:
    ds = simulate(n_periods=12, seed=4).assign_coords(period=np.arange(1990, 2002))
    return Observer().filter(ds).filtered.isel(scenario=0)


def test_one_band_per_type_and_a_line_per_event(posterior):
    fig = plot_type_posterior(posterior, events=[(1992, "treaty"), (1999, "crisis")], title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    assert len(ax.lines) == 2
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [1992, 1999]
    labels = {t.get_text().strip() for t in ax.texts}
    assert {"treaty", "crisis"} <= labels
    assert ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["greedy", "insecure", "mixed"]
    plt.close(fig)


def test_events_from_a_case_dataset_and_given_axes(posterior):
    case = xr.Dataset(
        {"event_year": ("event", [1991, 1995, 2000]), "event_label": ("event", ["a", "b", "c"])}
    )
    fig, ax = plt.subplots()
    out = plot_type_posterior(posterior, events=case, ax=ax)
    assert out is fig
    assert len(ax.lines) == 3
    plt.close(fig)


def test_plot_errors(posterior):
    with pytest.raises(ParameterError, match="Select one"):
        plot_type_posterior(posterior.expand_dims(dyad=2))
    with pytest.raises(ParameterError, match="event_label"):
        plot_type_posterior(posterior, events=xr.Dataset({"event_year": ("event", [1991])}))
    with pytest.raises(ParameterError, match="pair"):
        plot_type_posterior(posterior, events=[1991])
    with pytest.raises(ParameterError, match="DataArray"):
        plot_type_posterior(posterior.values)  # type: ignore[arg-type]
    plt.close("all")
