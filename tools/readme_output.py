"""Regenerate the README's example output of the main job from a run.

Runs ``secdilemma main --no-fit`` and ``secdilemma main`` (the full Bayesian fit; half a
minute or more on 2 cores) on the default bundled case into a temporary folder, reads the
files they write (``exact/posterior.nc``, ``exact/evidence.nc``, ``exact/naive/posterior.nc``,
``fit/summary.json``, ``decision.nc``) and rewrites the block of README.md between
``<!-- main-output:start -->`` and ``<!-- main-output:end -->``. It also rewrites the
recovery table between ``<!-- recovery:start -->`` and ``<!-- recovery:end -->`` from
``tests/test_recovery.py``'s ``recovery_table`` (2,000 dyads per cell, a few seconds).

``tests/test_readme.py`` recomputes the quoted numbers with the library and checks them
against the README within stated tolerances, so the README cannot drift from the code.

Usage, from the repository root::

    .venv/bin/python tools/readme_output.py            # both runs, rewrite README.md
    .venv/bin/python tools/readme_output.py --no-fit   # keep the block's fit lines as they are
    .venv/bin/python tools/readme_output.py --check    # exit 1 if README.md would change

Everything is seeded (the case spec's ``sampler.seed``), so a rerun in the same environment
gives the same bytes; another PyMC, PyTensor or nutpie version can change the fit's last
digits.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CASE = "anglo_german_naval"  # what `secdilemma main` analyses by default

MAIN = ("<!-- main-output:start -->", "<!-- main-output:end -->")
RECOVERY = ("<!-- recovery:start -->", "<!-- recovery:end -->")
FIT_HEADER = "$ secdilemma main"


def _probs(da: xr.DataArray) -> str:
    return ", ".join(f"P({k})={float(da.sel(rival_type=k)):.2f}" for k in da.rival_type.values)


def _decision_lines(dec: xr.Dataset) -> list[str]:
    lines = []
    for a in dec.action.values:
        r = dec.sel(action=a)
        lines.append(
            f"  {a!s:<8} expected utility {float(r.expected_utility):.2f} "
            f"[{float(r.eu_lower):.2f}, {float(r.eu_upper):.2f}]   P(best) {float(r.p_best):.2f}"
        )
    p_star = float(dec["threshold"])
    upper = dec.attrs.get("threshold_upper_action", "?")
    p_txt = f"{p_star:.3f} (above it: {upper})" if np.isfinite(p_star) else "none"
    lines.append(f"  threshold p* on P(greed motive): {p_txt};  EVPI {float(dec['evpi']):.3f}")
    lines.append(f"  recommendation: {dec.attrs['recommended']}")
    return lines


def exact_lines(folder: Path) -> list[str]:
    """The lines of ``secdilemma main --no-fit``'s results in ``folder``."""
    from secdilemma.interfaces.plots.evidence import greed_log_odds

    post = xr.load_dataset(folder / "exact" / "posterior.nc")
    ev = xr.load_dataset(folder / "exact" / "evidence.nc")
    naive = xr.load_dataset(folder / "exact" / "naive" / "posterior.nc")
    dec = xr.load_dataset(folder / "decision.nc")
    last = post["filtered"].isel(period=-1)
    year = int(last.period)
    odds = greed_log_odds(ev).drop_sel(source="buildups")
    flat = odds.stack(cell=("source", "period"))
    top = flat.isel(cell=int(np.nanargmax(np.abs(flat.values))))
    n_periods = post.sizes["period"]
    return [
        f"$ secdilemma main --no-fit   (exact observer; parameters: {post.attrs['study_params']})",
        f"exact observer, {year}: {_probs(last)}",
        f"  from the buildups alone: {_probs(ev['belief_from'].sel(source='buildups'))}"
        f"  ({n_periods} years)",
        f"  pushed hardest: {int(top['period'])} {top['source'].item()} {float(top):+.2f}"
        " (log-likelihood ratio towards greed)",
        f"naive observer, {year}: {_probs(naive['filtered'].isel(period=-1))}",
        f"decision on the exact observer's belief (P(greed motive) = {float(dec['p_greed']):.3f}):",
        *_decision_lines(dec),
    ]


def fit_lines(folder: Path) -> list[str]:
    """The lines of ``secdilemma main``'s results (the fit and the decision on it)."""
    summary = json.loads((folder / "fit" / "summary.json").read_text(encoding="utf-8"))
    dec = xr.load_dataset(folder / "decision.nc")
    lo, hi = (round(100 * q) for q in summary["interval"])
    (types,) = summary["type_probabilities"].values()
    lines = [f"{FIT_HEADER}   (adds the full Bayesian fit, PyMC, and decides on its draws)"]
    lines.append(f"P(rival type | data), over parameter uncertainty ({lo}-{hi} % intervals):")
    for name, v in types.items():
        lines.append(f"  {name:<8} {v['mean']:.2f} [{v['low']:.2f}, {v['high']:.2f}]")
    d = summary["diagnostics"]
    lines.append(
        f"diagnostics ({summary['backend']}): max R-hat {d['max_rhat']:.3f}, min bulk ESS "
        f"{d['min_ess_bulk']:.0f}, min tail ESS {d['min_ess_tail']:.0f}, "
        f"divergences {d['divergences']}"
    )
    lines.append(
        f"decision on {int(dec.attrs['n_belief_draws'])} posterior draws"
        f" (P(greed motive) = {float(dec['p_greed']):.3f}):"
    )
    return [*lines, *_decision_lines(dec)]


def run_main(folder: Path, *, fit: bool) -> None:
    """``secdilemma main`` on the default case, writing into ``folder``."""
    cmd = [sys.executable, "-m", "secdilemma", "main", "--out", str(folder)]
    cmd += [] if fit else ["--no-fit"]
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    print("running:", " ".join(cmd[2:]), file=sys.stderr)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def _versions() -> str:
    names = ("secdilemma", "pymc", "nutpie", "numpy")
    return ", ".join(f"{n} {importlib.metadata.version(n)}" for n in names)


def main_block(old: str | None, *, fit: bool) -> str:
    """The text between the main-output markers."""
    with tempfile.TemporaryDirectory() as tmp:
        run_main(Path(tmp) / "nofit", fit=False)
        exact = exact_lines(Path(tmp) / "nofit")
        if fit:
            run_main(Path(tmp) / "fit", fit=True)
            fitted = fit_lines(Path(tmp) / "fit")
        else:
            if old is None or FIT_HEADER + " " not in old:
                raise SystemExit("readme_output: --no-fit needs a block with fit lines to keep")
            body = old.split("```text\n", 1)[1].split("```", 1)[0]
            fitted = body[body.index(FIT_HEADER + " ") :].rstrip("\n").splitlines()
    body = "\n".join([*exact, "", *fitted])
    return (
        f"\n```text\n{body}\n```\n\n"
        f"(Generated by `tools/readme_output.py` with {_versions()}; "
        "`tests/test_readme.py` checks the exact observer's numbers and its decision.)\n"
    )


def recovery_block() -> str:
    """The recovery table: accuracy and mean posterior of the true type."""
    path = ROOT / "tests" / "test_recovery.py"
    spec = importlib.util.spec_from_file_location("_recovery", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    acc, p_true = module.recovery_table(n=2000)
    lengths = module.LENGTHS
    head = "| effect c | " + " | ".join(f"T = {t}" for t in lengths) + " |"
    rows = [head, "|---|" + "---|" * len(lengths)]
    for c, a_row, p_row in zip(module.EFFECTS, acc, p_true, strict=True):
        cells = [f"{a:.2f} ({p:.2f})" for a, p in zip(a_row, p_row, strict=True)]
        rows.append(f"| {c:g} | " + " | ".join(cells) + " |")
    return "\n" + "\n".join(rows) + "\n"


def replace_between(text: str, markers: tuple[str, str], new: str) -> str:
    """``text`` with what lies between the two markers replaced by ``new``."""
    start, end = markers
    pattern = re.compile(re.escape(start) + r"(.*?)" + re.escape(end), re.S)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"readme_output: README.md needs exactly one {start} ... {end} block")
    return pattern.sub(lambda _: start + new + end, text)


def between(text: str, markers: tuple[str, str]) -> str | None:
    """What lies between the two markers, or ``None``."""
    m = re.search(re.escape(markers[0]) + r"(.*?)" + re.escape(markers[1]), text, re.S)
    return m.group(1) if m else None


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) the generated blocks of README.md."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-fit", action="store_true", help="keep the block's fit lines")
    ap.add_argument("--check", action="store_true", help="exit 1 if README.md would change")
    args: Any = ap.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    new = replace_between(text, MAIN, main_block(between(text, MAIN), fit=not args.no_fit))
    new = replace_between(new, RECOVERY, recovery_block())
    if args.check:
        print("README.md is up to date" if new == text else "README.md would change")
        return 0 if new == text else 1
    README.write_text(new, encoding="utf-8")
    print("README.md: generated blocks rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
