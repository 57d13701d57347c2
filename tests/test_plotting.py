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

from secdilemma.data import list_cases, load_case, to_moves
from secdilemma.errors import ParameterError
from secdilemma.interfaces.plots.posterior import KEY_GID, MARKER_GID, plot_type_posterior
from secdilemma.model.simulate import simulate
from secdilemma.observers import Observer
from secdilemma.reference import load_reference_params


@pytest.fixture
def posterior() -> xr.DataArray:
    ds = simulate(n_periods=12, seed=4).assign_coords(period=np.arange(1990, 2002))
    return Observer().filter(ds).filtered.isel(scenario=0)


def _markers(ax):
    return [t for t in ax.texts if t.get_gid() == MARKER_GID]


def _keys(ax):
    return [t for t in ax.texts if t.get_gid() == KEY_GID]


def _render(fig: Figure):
    """Draw the figure at its own dpi, as savefig does, and return the renderer."""
    fig.canvas.draw()
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def _inside(inner, outer, tol: float = 1.0) -> bool:
    return (
        inner.x0 >= outer.x0 - tol
        and inner.y0 >= outer.y0 - tol
        and inner.x1 <= outer.x1 + tol
        and inner.y1 <= outer.y1 + tol
    )


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_one_band_per_type_and_a_numbered_marker_per_event(posterior):
    # given out of order: numbered in time order
    fig = plot_type_posterior(posterior, events=[(1999, "crisis"), (1992, "treaty")], title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    assert len(ax.lines) == 2
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [1992, 1999]
    markers = _markers(ax)
    assert [(m.get_text(), m.xy[0]) for m in markers] == [("1", 1992), ("2", 1999)]
    assert [k.get_text().strip() for k in _keys(ax)] == ["1.  1992  treaty", "2.  1999  crisis"]
    assert ax.get_title() == "t"
    # legend top to bottom follows the bands top to bottom
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mixed", "insecure", "greedy"]
    plt.close(fig)


def test_events_from_a_case_dataset_and_given_axes(posterior):
    case = xr.Dataset(
        {
            "event_year": ("event", [1995, 1991, 2000, 1995]),
            "event_label": ("event", ["b", "a", "c", "b2"]),
            "event_actor": ("event", ["rival", "observer", "both", "rival"]),
        },
        attrs={"observer": "Ruritania", "rival": "Freedonia"},
    )
    fig, ax = plt.subplots()
    out = plot_type_posterior(posterior, events=case, ax=ax)
    assert out is fig
    assert len(ax.lines) == 4
    markers = _markers(ax)
    assert [m.xy[0] for m in markers] == [1991, 1995, 1995, 2000]
    # two events in one year: stacked, not on top of each other
    same = [m for m in markers if m.xy[0] == 1995]
    assert len({m.xyann[1] for m in same}) == 2
    keys = [k.get_text().strip() for k in _keys(ax)]
    assert keys == [
        "1.  1991  [Ruritania] a",
        "2.  1995  [Freedonia] b",
        "3.  1995  [Freedonia] b2",
        "4.  2000  [both sides] c",
    ]
    assert ax.get_xlabel() == "year"
    plt.close(fig)


def test_no_events_no_markers_no_key(posterior):
    for events in (None, []):
        fig = plot_type_posterior(posterior, events=events)
        ax = fig.axes[0]
        assert not ax.lines
        assert not _markers(ax)
        assert not _keys(ax)
        assert ax.get_xlabel() == "period"
        plt.close(fig)


def test_events_outside_the_periods_or_undated_are_keyed_but_not_marked(posterior):
    events = [(float("nan"), "when?"), (1995, "x"), (1980, "long ago")]
    fig = plot_type_posterior(posterior, events=events)
    ax = fig.axes[0]
    assert [m.xy[0] for m in _markers(ax)] == [1995]
    assert [m.get_text() for m in _markers(ax)] == ["2"]
    assert len(ax.lines) == 1
    assert [k.get_text() for k in _keys(ax)] == [
        "1.  1980  long ago (outside the plotted periods)",
        "2.  1995  x",
        "3.  undated  when?",
    ]
    assert ax.get_xlim() == (1990.0, 2001.0)
    plt.close(fig)


@pytest.mark.parametrize("case", list_cases())
def test_bundled_cases_are_readable(case):
    """Every marker at its event's year, one key entry per event, and nothing that overlaps or
    falls outside the saved image: markers, key entries, legend, title."""
    ds = load_case(case)
    post = Observer(params=load_reference_params()).filter(to_moves(ds))["filtered"]
    fig = plot_type_posterior(post, events=ds, title=case)
    ax = fig.axes[0]
    years = sorted(ds["event_year"].values.tolist())
    markers = _markers(ax)
    assert [m.xy[0] for m in markers] == years
    assert [int(m.get_text()) for m in markers] == list(range(1, len(years) + 1))
    keys = _keys(ax)
    assert len(keys) == ds.sizes["event"]
    assert [k.get_text().split()[1] for k in keys] == [str(y) for y in years]

    renderer = _render(fig)
    page = fig.bbox
    marker_boxes = [m.get_window_extent(renderer) for m in markers]
    key_boxes = [k.get_window_extent(renderer) for k in keys]
    legend_box = ax.get_legend().get_window_extent(renderer)
    title_box = ax.title.get_window_extent(renderer)
    axes_box = ax.get_window_extent(renderer)
    for box in [*marker_boxes, *key_boxes, legend_box, title_box]:
        assert _inside(box, page), (case, box, page)
    for boxes in (marker_boxes, key_boxes):
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not _overlap(a, b), (case, a, b)
    # the legend is beside the data, the key below it, the markers and title above it
    assert legend_box.x0 >= axes_box.x1
    assert all(k.y1 <= axes_box.y0 for k in key_boxes)
    assert all(m.y0 >= axes_box.y1 - 1 for m in marker_boxes)
    assert all(not _overlap(m, title_box) for m in marker_boxes)
    # markers at the first or last year stay within the axes' width (not over the frame)
    assert all(m.x0 >= axes_box.x0 - 1 and m.x1 <= axes_box.x1 + 1 for m in marker_boxes)
    # the plot keeps a usable height (at least a third of the figure)
    assert axes_box.height >= page.height / 3
    plt.close(fig)


def test_plot_errors(posterior):
    with pytest.raises(ParameterError, match="Select one"):
        plot_type_posterior(posterior.expand_dims(dyad=2))
    with pytest.raises(ParameterError, match="event_label"):
        plot_type_posterior(posterior, events=xr.Dataset({"event_year": ("event", [1991])}))
    with pytest.raises(ParameterError, match="pair"):
        plot_type_posterior(posterior, events=[1991])
    with pytest.raises(ParameterError, match="must be numbers"):
        plot_type_posterior(posterior, events=[("soon", "x")])
    with pytest.raises(ParameterError, match="numeric"):
        plot_type_posterior(posterior.assign_coords(period=[f"y{i}" for i in range(12)]))
    with pytest.raises(ParameterError, match="no periods"):
        plot_type_posterior(posterior.isel(period=slice(0, 0)))
    with pytest.raises(ParameterError, match="DataArray"):
        plot_type_posterior(posterior.values)  # type: ignore[arg-type]
    plt.close("all")


def _three_actions(u_defend: list[float]) -> xr.Dataset:
    from secdilemma.decision import decide

    U = xr.DataArray(
        [[-1.0, -3.0], [-4.0, 0.0], u_defend],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure", "defend"], "rival_type": ["greedy", "insecure"]},
    )
    return decide({"greedy": 0.4, "insecure": 0.6}, payoffs=U)


def test_decision_draws_every_action_with_its_interval_and_level():
    from secdilemma.interfaces.plots import plot_decision

    res = _three_actions([-2.0, -2.0])
    fig = plot_decision(res, title="case: 1900-1910, omega 0.5")
    (ax,) = fig.axes
    level = round(100 * res.attrs["ci_prob"])
    gids = {a.get_gid() for a in [*ax.lines, *ax.collections]}
    for action in ("deter", "reassure", "defend"):
        assert f"eu:{action}" in gids
        assert f"current:{action}" in gids
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(f"{level} %" in t for t in texts) == 3  # each action's interval, level named
    assert f"{level} % interval" in ax.get_title()
    assert "EVPI = " in ax.get_title()
    evpi = ax.get_title().split("EVPI = ")[1].split()[0]
    assert len(evpi.split(".")[1]) == 3  # always three decimals
    assert ax.get_xlim()[0] < 0.0  # p* = 0 or 1 stays visible
    assert ax.get_xlim()[1] > 1.0
    _page_holds_everything(fig, ax)
    plt.close(fig)


def test_decision_points_that_would_hide_each_other_are_set_apart():
    from secdilemma.interfaces.plots import plot_decision

    res = _three_actions([-2.0, -2.2])  # defend and deter almost tie at the belief
    fig = plot_decision(res)
    (ax,) = fig.axes
    xs = [ln.get_xdata()[0] for ln in ax.lines if str(ln.get_gid()).startswith("current:")]
    assert len(set(xs)) == 3
    assert max(xs) - min(xs) < 0.05  # still at the current belief, to the eye
    plt.close(fig)


def test_decision_threshold_at_the_edge_is_inside_the_frame():
    from secdilemma.interfaces.plots import plot_decision

    U = xr.DataArray(
        [[0.0, -1.0], [-1.0, 0.0]],
        dims=("action", "rival_type"),
        coords={"action": ["deter", "reassure"], "rival_type": ["greedy", "insecure"]},
    )
    from secdilemma.decision import decide

    res = decide({"greedy": 0.5, "insecure": 0.5}, payoffs=U).copy()
    res["threshold"] = xr.DataArray(1.0)
    fig = plot_decision(res)
    (ax,) = fig.axes
    (thr,) = [ln for ln in ax.lines if ln.get_gid() == "threshold"]
    lo, hi = ax.get_xlim()
    assert lo < thr.get_xdata()[0] < hi
    plt.close(fig)


def _page_holds_everything(fig: Figure, ax) -> None:
    renderer = _render(fig)
    boxes = [ax.title.get_window_extent(renderer), ax.get_legend().get_window_extent(renderer)]
    boxes.append(ax.xaxis.label.get_window_extent(renderer))
    for box in boxes:
        assert _inside(box, fig.bbox), (box, fig.bbox)
    assert not _overlap(boxes[1], ax.get_window_extent(renderer))  # legend below the data
