"""The command line's shared options, and how they become a :class:`~secdilemma.Study`.

Option types (``typer`` annotations) used by several verbs, the parsers of ``--prior`` and
``--dyad``, the error printer, and the default output folder. No verb lives here.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from secdilemma.errors import ParameterError, SecdilemmaError
from secdilemma.observers import FITTABLE_KINDS
from secdilemma.study import PARAM_SOURCES, Study

#: Process-wide CLI state set by the root callback (``--debug``).
STATE = {"debug": False}

# ---------------------------------------------------------------------------------------------
# options shared by several commands
# ---------------------------------------------------------------------------------------------
Target = Annotated[
    str | None,
    typer.Argument(
        metavar="[CASE_OR_SPEC]",
        help="A bundled case (its spec in models/, see `secdilemma cases`) or a model spec "
        "file (.toml). Leave out with --dyad.",
    ),
]
Dyad = Annotated[
    str | None,
    typer.Option(
        metavar="OBSERVER:RIVAL",
        help="Any pair of states instead of a case: COW codes, abbreviations or names, "
        "e.g. IND:PAK or 'United States:China'.",
    ),
]
Source = Annotated[str, typer.Option(help="With --dyad: spending source, nmc or sipri.")]
Start = Annotated[int | None, typer.Option(help="First year (default: the spec's or data's).")]
End = Annotated[int | None, typer.Option(help="Last year (default: the spec's or data's).")]
Omega = Annotated[
    float | None,
    typer.Option(help="Offense advantage in [0, 1] (default: the spec's, else 0.5)."),
]
Delta = Annotated[
    float | None,
    typer.Option(help="Distinguishability in [0, 1] (default: the spec's, else 0.5)."),
]
Prior = Annotated[
    str | None,
    typer.Option(
        metavar="TYPE=P,...",
        help="The observer's prior over types, e.g. greedy=0.6,insecure=0.2,mixed=0.2, or "
        "'uniform' (default: the spec's, else uniform). Types left out get 0.",
    ),
]
ObserverKind = Annotated[
    str | None,
    typer.Option(help=f"Observer kind: {', '.join(FITTABLE_KINDS)} (default: spec's, aware)."),
]
Params = Annotated[
    str,
    typer.Option(
        help=f"The exact observer's parameters, one of {', '.join(PARAM_SOURCES)}: fixed at the "
        "pooled reference over other rivalries (models/reference_params.toml), integrated over "
        "the prior the fit takes from it (the fit's answer, a few seconds), an estimate from "
        "this dyad alone, or the package defaults."
    ),
]
Horizon = Annotated[
    int | None, typer.Option(help="Periods simulated per action (default: spec's, else 10).")
]
Seed = Annotated[
    int | None,
    typer.Option(help="Seed of every random step: sampling, draws, futures (default: spec's)."),
]
Variable = Annotated[str | None, typer.Option(help="Capability series (default: spec's, milex).")]
CaseObserver = Annotated[
    str | None, typer.Option(help="Alternative observer state where the case has several.")
]
Overwrite = Annotated[bool, typer.Option(help="Replace existing output files.")]
Sampler = Annotated[
    str | None, typer.Option(help="NUTS backend: nutpie or pymc (default: the spec's).")
]
Chains = Annotated[int | None, typer.Option(help="Chains (default: the spec's, else 4).")]
Draws = Annotated[int | None, typer.Option(help="Draws per chain (default: spec's, 1000).")]
Tune = Annotated[int | None, typer.Option(help="Tuning steps per chain (default: 1000).")]
NSims = Annotated[int, typer.Option(help="Simulated futures per type.")]


Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Output folder (default results/VERB-NAME-TIME, e.g. results/filter-us_china-…).",
    ),
]


# ---------------------------------------------------------------------------------------------
# building the study from the arguments
# ---------------------------------------------------------------------------------------------
def parse_prior(text: str | None) -> dict[str, float] | str | None:
    """``"greedy=0.6,insecure=0.4"`` → ``{"greedy": 0.6, "insecure": 0.4}``; ``"uniform"``."""
    if text is None or text.strip() == "uniform":
        return None if text is None else "uniform"
    return parse_pairs(
        text, "--prior", "TYPE=PROBABILITY",
        "--prior greedy=0.6,insecure=0.2,mixed=0.2 or --prior uniform",
    )  # fmt: skip


def parse_pairs(text: str, option: str, form: str, example: str) -> dict[str, float]:
    """``"a=0.6,b=0.4"`` → ``{"a": 0.6, "b": 0.4}``; a part that is not NAME=NUMBER raises a
    :class:`~secdilemma.errors.ParameterError` naming ``option``, the ``form`` expected and
    an ``example``."""
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ParameterError(
                f"{option}: {part.strip()!r} is not {form}; write e.g. {example}."
            ) from None
    return out


def parse_dyad(text: str) -> tuple[str, str]:
    """``"IND:PAK"`` → ``("IND", "PAK")``."""
    observer, sep, rival = text.partition(":")
    if not sep or not observer.strip() or not rival.strip():
        raise ParameterError(
            f"--dyad: {text!r} is not OBSERVER:RIVAL; write e.g. --dyad IND:PAK or "
            "--dyad 'United States:China'."
        )
    return observer.strip(), rival.strip()


def make_study(
    target: str | None,
    *,
    dyad: str | None = None,
    source: str = "nmc",
    prior: str | None = None,
    persistence: float | None = None,
    **overrides: Any,
) -> Study:
    """The study a verb's arguments describe (one of CASE_OR_SPEC or --dyad)."""
    if (target is None) == (dyad is None):
        raise ParameterError(
            "give a case or a spec (e.g. anglo_german_naval, models/us_china.toml), or a pair "
            "of states with --dyad OBSERVER:RIVAL, but not both."
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    if prior is not None:
        given["prior"] = parse_prior(prior)
    if persistence is not None:
        given["persistence"] = persistence
    if dyad is not None:
        observer_state, rival_state = parse_dyad(dyad)
        return Study.from_dyad(observer_state, rival_state, source=source, **given)
    assert target is not None
    return Study(target, **given)


def output_folder(path: Path | None, verb: str, name: str) -> Path:
    if path is not None:
        return path
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "study"
    return Path("results") / f"{verb}-{safe}-{stamp}"


def save_figure(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, format="png", dpi=120)
    finally:
        plt.close(fig)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print a SecdilemmaError verbatim on one line of stderr and exit with status 2."""
    try:
        yield
    except SecdilemmaError as exc:
        if STATE["debug"]:
            raise
        msg = " ".join(str(exc).split())
        sys.stderr.write(f"error ({type(exc).__name__}): {msg}\n")
        raise typer.Exit(code=2) from None
