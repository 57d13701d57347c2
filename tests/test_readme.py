"""The README's examples run as written, and the commands it lists exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from secdilemma.interfaces.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, flags=re.S)


def test_readme_has_exactly_two_setup_commands():
    setup = TEXT.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", setup, flags=re.S)
    assert len(blocks) == 1
    commands = [ln for ln in blocks[0].splitlines() if ln.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["./dev.sh main", "./dev.sh test"]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev.sh test" in ci


@pytest.mark.parametrize("i", range(len(_blocks("python"))))
def test_readme_python_block_runs(i, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(_blocks("python")[i], f"README.md python block {i}", "exec"), {})
    out = capsys.readouterr().out
    # the misperception figures quoted next to the code
    if "compare_observers" in _blocks("python")[i]:
        aware, naive = (float(x) for x in re.findall(r"\[([\d.]+)\s+([\d.]+)\]", out)[0])
        assert aware < 0.02
        assert naive > 0.95


def test_every_cli_command_in_the_readme_exists():
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    used = set()
    for block in _blocks("bash"):
        for line in block.splitlines():
            m = re.match(r"\s*secdilemma (\w+)", line)
            if m and not m.group(1).startswith("-"):
                used.add(m.group(1))
    assert used
    assert used <= names, f"README mentions unknown commands {used - names}"


# ---------------------------------------------------------------------------------------------
# The generated blocks (tools/readme_output.py) against the library
# ---------------------------------------------------------------------------------------------
#: Tolerances of the quoted numbers (absolute). They are printed at 2 or 3 decimals, so the
#: rounding alone is within 0.005; the rest is room for a change in a dependency's last digits.
TOL_PROB = 0.01  # probabilities, P(best), p*, EVPI
TOL_VALUE = 0.02  # expected utilities and log-likelihood ratios
MAIN_CASE = "anglo_german_naval"  # what `secdilemma main` analyses by default
REGENERATE = "regenerate it with `.venv/bin/python tools/readme_output.py`"


def _between(start: str, end: str) -> str:
    m = re.search(re.escape(start) + r"(.*?)" + re.escape(end), TEXT, flags=re.S)
    assert m, f"README.md has no {start} ... {end} block; {REGENERATE}"
    return m.group(1)


def _main_output() -> tuple[str, str]:
    """The generated main-job block: the ``main --no-fit`` part and the ``main`` part."""
    block = _between("<!-- main-output:start -->", "<!-- main-output:end -->")
    body = block.split("```text\n", 1)[1].split("```", 1)[0]
    exact, fitted = body.split("$ secdilemma main   ", 1)
    return exact, fitted


def _probs(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r"P\((\w+)\)=([\d.]+)", line)}


def _line(text: str, start: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(start)]
    assert len(lines) == 1, f"README main-output block: one line starting {start!r} expected"
    return lines[0]


def _quoted_decision(text: str) -> dict[str, object]:
    """The decision lines of a part of the block: per action EU, interval, P(best); p*, EVPI."""
    out: dict[str, object] = {}
    for a, eu, lo, hi, pb in re.findall(
        r"^\s*(\w+)\s+expected utility (-?[\d.]+) \[(-?[\d.]+), (-?[\d.]+)\]\s+P\(best\) ([\d.]+)",
        text,
        flags=re.M,
    ):
        out[a] = tuple(float(x) for x in (eu, lo, hi, pb))
    m = re.search(
        r"threshold p\* on P\(greed motive\): ([\d.]+) \(above it: ([^)]+)\);\s+EVPI ([\d.]+)", text
    )
    assert m, "README main-output block: no threshold/EVPI line"
    out["threshold"], out["upper"], out["evpi"] = float(m.group(1)), m.group(2), float(m.group(3))
    out["recommended"] = _line(text, "recommendation:").split(": ", 1)[1]
    out["p_greed"] = float(re.search(r"P\(greed motive\) = ([\d.]+)", text).group(1))
    return out


def _check_decision(quoted: dict[str, object], dec, tol_prob: float, tol_value: float) -> None:
    assert quoted["recommended"] == dec.attrs["recommended"], REGENERATE
    assert quoted["upper"] == dec.attrs.get("threshold_upper_action", "?"), REGENERATE
    for key, value in (
        ("threshold", dec["threshold"]),
        ("evpi", dec["evpi"]),
        ("p_greed", dec["p_greed"]),
    ):
        assert abs(float(value) - quoted[key]) <= tol_prob, (
            f"{key}: {float(value)} vs README {quoted[key]}; {REGENERATE}"
        )
    for a in dec.action.values:
        eu, lo, hi, pb = quoted[str(a)]
        r = dec.sel(action=a)
        got = (float(r.expected_utility), float(r.eu_lower), float(r.eu_upper))
        for q, g in zip((eu, lo, hi), got, strict=True):
            assert abs(g - q) <= tol_value, f"{a}: expected utility {got} vs README; {REGENERATE}"
        assert abs(float(r.p_best) - pb) <= tol_prob, (
            f"{a}: P(best) {float(r.p_best)}; {REGENERATE}"
        )


@pytest.fixture(scope="module")
def main_study():
    import secdilemma as sd

    return sd.Study(MAIN_CASE)  # as `secdilemma main` builds it (interfaces.options.make_study)


def test_main_output_exact_observer_matches_the_library(main_study):
    """``secdilemma main --no-fit``'s numbers quoted in the README, recomputed: the exact
    observer's final belief (and from the buildups alone, the strongest signal, the naive
    observer's) within TOL_PROB; its decision within TOL_PROB / TOL_VALUE, the
    recommended action exactly."""
    from secdilemma.interfaces.plots.evidence import greed_log_odds

    exact, _ = _main_output()
    post = main_study.belief()
    last = post["filtered"].isel(period=-1)
    line = _line(exact, "exact observer,")
    assert f", {int(last.period)}:" in line
    quoted = _probs(line)
    assert set(quoted) == {str(k) for k in last.rival_type.values}
    for k, q in quoted.items():
        got = float(last.sel(rival_type=k))
        assert abs(got - q) <= TOL_PROB, f"P({k}) = {got:.4f}, README {q}; {REGENERATE}"

    ev = main_study.evidence()
    alone = ev["belief_from"].sel(source="buildups")
    for k, q in _probs(_line(exact, "from the buildups alone:")).items():
        assert abs(float(alone.sel(rival_type=k)) - q) <= TOL_PROB, REGENERATE
    odds = greed_log_odds(ev).drop_sel(source="buildups").stack(cell=("source", "period"))
    top = odds.isel(cell=int(np.nanargmax(np.abs(odds.values))))
    year, source, llr = _line(exact, "pushed hardest:").split()[2:5]
    assert (int(year), source) == (int(top["period"]), top["source"].item()), REGENERATE
    assert abs(float(top) - float(llr)) <= TOL_VALUE, REGENERATE

    naive = main_study.belief(observer="naive")["filtered"].isel(period=-1)
    for k, q in _probs(_line(exact, "naive observer,")).items():
        assert abs(float(naive.sel(rival_type=k)) - q) <= TOL_PROB, REGENERATE

    dec = main_study.decide("exact", n_sims=2000)  # as main --no-fit (write_decision)
    _check_decision(_quoted_decision(exact), dec, TOL_PROB, TOL_VALUE)


@pytest.mark.slow
def test_main_output_fit_matches_a_fit(main_study):
    """The fit's numbers quoted in the README, from a new PyMC fit (seeded: the same
    environment reproduces them; another PyMC/nutpie version moves the draws, hence the wider
    tolerances: 0.05 on posterior means and the decision's probabilities, 0.1 on interval
    ends, 0.2 on expected utilities)."""
    import json

    _, fitted = _main_output()
    main_study.fit()
    summary = main_study.model_.summary()
    (types,) = summary["type_probabilities"].values()
    for name, v in types.items():
        mean, lo, hi = (
            float(x)
            for x in re.search(
                rf"^\s*{name}\s+([\d.]+) \[([\d.]+), ([\d.]+)\]", fitted, re.M
            ).groups()
        )
        assert abs(v["mean"] - mean) <= 0.05, json.dumps(types)
        assert abs(v["low"] - lo) <= 0.1, json.dumps(types)
        assert abs(v["high"] - hi) <= 0.1, json.dumps(types)
    assert summary["trustworthy"]
    dec = main_study.decide("fit", n_sims=2000)  # as main (write_decision)
    _check_decision(_quoted_decision(fitted), dec, 0.05, 0.2)


def test_recovery_table_matches_the_simulation():
    """The README's recovery table: accuracy (mean posterior on the true type) per cell, as
    ``tests/test_recovery.py``'s ``recovery_table`` computes them (2,000 dyads per cell,
    seeded), within TOL_PROB."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_recovery", README.parent / "tests" / "test_recovery.py"
    )
    assert spec is not None
    assert spec.loader is not None
    recovery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recovery)
    acc, p_true = recovery.recovery_table(n=2000)
    block = _between("<!-- recovery:start -->", "<!-- recovery:end -->")
    rows = re.findall(r"^\| ([\d.]+) \| (.*) \|$", block, flags=re.M)
    assert [float(c) for c, _ in rows] == list(recovery.EFFECTS), REGENERATE
    for i, (_, cells) in enumerate(rows):
        pairs = re.findall(r"([\d.]+) \(([\d.]+)\)", cells)
        assert len(pairs) == len(recovery.LENGTHS)
        for j, (a, p) in enumerate(pairs):
            assert abs(acc[i, j] - float(a)) <= TOL_PROB, REGENERATE
            assert abs(p_true[i, j] - float(p)) <= TOL_PROB, REGENERATE
