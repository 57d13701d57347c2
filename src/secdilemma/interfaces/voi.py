"""The ``voi`` verb (registered by :func:`register`): what a costly test of intentions is worth.

``secdilemma voi CASE --cost 0.02`` takes the exact observer's belief at the study's last
period and, for each signal channel the observer reads (with the reference's coefficients),
the value of observing it once more before acting: EVSI per channel and jointly, next to
EVPI, net of the cost of the test (:meth:`secdilemma.Study.value_of_information`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import xarray as xr
from rich.table import Table

from secdilemma.errors import ParameterError
from secdilemma.interfaces import console as out
from secdilemma.interfaces.options import (
    Delta,
    Dyad,
    End,
    ObserverKind,
    Omega,
    Out,
    Overwrite,
    Params,
    Prior,
    Source,
    Start,
    Target,
    make_study,
    output_folder,
    parse_pairs,
    user_errors,
)
from secdilemma.io import OutputRun, save_dataset

__all__ = ["parse_cost", "register", "voi_cmd"]

Cost = Annotated[
    str,
    typer.Option(
        metavar="COST",
        help="What observing a channel costs, in utility units: one number for every channel "
        "(0.02) or CHANNEL=COST pairs (mid_use_of_force=0.05,alliance_new_defense_pact=0.01).",
    ),
]


def parse_cost(text: str) -> float | dict[str, float]:
    """``"0.02"`` or ``"a=0.05,b=0.01"`` as a number or a mapping (checked later against the
    channels, which names a missing or unknown one)."""
    text = text.strip()
    if "=" not in text:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(
                f"--cost: {text!r} is neither a number nor CHANNEL=COST pairs."
            ) from None
    return parse_pairs(
        text, "--cost", "CHANNEL=COST (a number after '=')",
        "--cost mid_use_of_force=0.05,alliance_new_defense_pact=0.01",
    )  # fmt: skip


def print_voi(res: xr.Dataset) -> None:
    """EVPI, joint EVSI and the per-channel table."""
    table = Table(title="What would one more observation of each channel be worth?")
    for col in ("channel", "P(sent)", "EVSI", "cost", "net", "worth it", "if sent → best",
                "if not → best"):  # fmt: skip
        table.add_column(col, justify="right")
    for ch in res["signal"].values:
        r = res.sel(signal=ch)
        table.add_row(
            str(ch), f"{float(r.p_sent):.3f}", f"{float(r.evsi):.4f}", f"{float(r.cost):.4f}",
            f"{float(r.evsi_net):+.4f}", "yes" if bool(r.worth_testing) else "no",
            str(r.best_action_if_sent.values), str(r.best_action_if_not_sent.values),
        )  # fmt: skip
    out.console.print(table)
    out.console.print(
        f"EVPI (knowing the type for sure) {float(res.evpi):.4f}; every channel at once: EVSI "
        f"{float(res.evsi_joint):.4f}, net of costs {float(res.evsi_joint_net):+.4f}. "
        f"Channels read as: {res.attrs.get('study_signals_used', '')}",
        markup=False,
    )


def voi_cmd(
    target: Target = None,
    dyad: Dyad = None,
    source: Source = "nmc",
    start: Start = None,
    end: End = None,
    observer: ObserverKind = None,
    params: Params = "reference",
    omega: Omega = None,
    delta: Delta = None,
    prior: Prior = None,
    cost: Cost = "0",
    n_sims: Annotated[int, typer.Option(help="Simulated futures per type and action.")] = 2000,
    out_dir: Out = None,
    overwrite: Overwrite = False,
) -> None:
    """Value of information: EVPI, and EVSI of each signal channel net of its cost.

    Writes voi.nc. A channel is worth observing when its EVSI exceeds its cost.
    """
    with user_errors():
        costs: Any = parse_cost(cost)
        study = make_study(
            target, dyad=dyad, source=source, start=start, end=end, observer=observer,
            params=params, omega=omega, delta=delta, prior=prior,
        )  # fmt: skip
        folder: Path = output_folder(out_dir, "voi", study.setting.name)
        with OutputRun(folder, ["voi.nc"], overwrite=overwrite) as run:
            out.print_setting(study.setting)
            res = study.value_of_information(cost=costs, n_sims=n_sims)
            save_dataset(res, run.path("voi.nc"), overwrite=True)
            print_voi(res)
        out.console.print(f"wrote {folder}/voi.nc", markup=False)


def register(app: typer.Typer) -> None:
    """Add the ``voi`` verb to the command line's ``app``."""
    app.command("voi")(voi_cmd)
