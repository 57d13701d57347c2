"""plot_decision: structure of the figure, no pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from secdilemma.decision import decide, kydd_payoffs
from secdilemma.errors import ParameterError
from secdilemma.interfaces.plots import plot_decision


def _by_gid(ax, gid):
    return [ln for ln in ax.lines if ln.get_gid() == gid]


def test_figure_has_one_curve_per_action_and_marks_belief_and_threshold():
    ds = decide({"greedy": 0.7, "insecure": 0.3}, payoffs=kydd_payoffs(0.5, 0.5))
    fig = plot_decision(ds)
    try:
        (ax,) = fig.axes
        for action in ("deter", "reassure"):
            (line,) = _by_gid(ax, f"eu:{action}")
            np.testing.assert_allclose(line.get_ydata(), ds.eu_curve.sel(action=action).values)
            assert line.get_label() == action
            (dot,) = _by_gid(ax, f"current:{action}")
            assert dot.get_xdata()[0] == pytest.approx(0.7)
            assert dot.get_ydata()[0] == pytest.approx(
                float(ds.expected_utility.sel(action=action))
            )
        (cur,) = _by_gid(ax, "current")
        assert cur.get_xdata()[0] == pytest.approx(0.7)
        (thr,) = _by_gid(ax, "threshold")
        assert thr.get_xdata()[0] == pytest.approx(float(ds.threshold))
        assert "recommended: deter" in ax.get_title()
        assert "greed" in ax.get_xlabel()
        assert "expected utility" in ax.get_ylabel()
    finally:
        plt.close(fig)


def test_draws_on_a_given_axes_and_omits_missing_threshold():
    import xarray as xr

    U = xr.DataArray(
        [[0.0, 0.0], [-1.0, -1.0]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure"]},
    )
    fig, ax = plt.subplots()
    try:
        assert plot_decision(decide(payoffs=U), ax=ax) is fig
        assert _by_gid(ax, "threshold") == []
    finally:
        plt.close(fig)


def test_rejects_other_objects():
    with pytest.raises(ParameterError, match="decide"):
        plot_decision(xr_dataset_without_fields())


def xr_dataset_without_fields():
    import xarray as xr

    return xr.Dataset({"a": ("x", [1.0])})
