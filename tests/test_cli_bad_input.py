"""Generated command lines: every verb ends with exit 0, or exit 2 and one line on stderr.

Never a traceback, never exit 1: bad input is a typed error that names the argument.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from secdilemma.interfaces.cli import app

runner = CliRunner()

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(["0.3", "1", "-0.0", "1e308", "nan", "inf", "", "0,5", "½", "²", "abc"]),
)
PRIORS = st.one_of(
    st.sampled_from(["uniform", "greedy=1", "greedy=0.5,insecure=0.5", "greedy=2", "hawk=1"]),
    st.text(alphabet="gredyinsu=.,0123456789[]", max_size=25),
)
OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "--omega": NUMBERS,
        "--delta": NUMBERS,
        "--prior": PRIORS,
        "--horizon": NUMBERS,
        "--seed": NUMBERS,
        "--start": NUMBERS,
        "--end": NUMBERS,
        "--observer": st.sampled_from(["aware", "naive", "tempered", "[nan]", ""]),
        "--params": st.sampled_from(["reference", "default", "estimate", "posterior"]),
    },
)
TARGETS = st.sampled_from(
    [["us_ussr"], ["anglo_german_naval"], ["us_chna"], ["--dyad", "IND:PAK"], ["--dyad", "X"]]
)


def _check(res, argv, outcome) -> None:
    assert res.exit_code in (0, 2), (argv, res.output)
    outcome(f"secdilemma {argv[0]}", "valid" if res.exit_code == 0 else "typed error")
    assert "Traceback" not in res.output, argv
    if res.exit_code == 2:
        lines = (res.stderr or res.output).strip().splitlines()
        assert len(lines) >= 1, argv
        if lines[-1].startswith("error ("):
            assert len([ln for ln in lines if ln.startswith("error (")]) == 1, argv


def _argv(verb: str, target: list[str], options: dict[str, str], out: str) -> list[str]:
    argv = [verb, *target]
    for k, v in options.items():
        argv += [k, v]
    return [*argv, "--out", out]


@settings(max_examples=150)
@given(target=TARGETS, options=OPTIONS)
def test_filter_with_generated_arguments(tmp_path_factory, outcome, target, options):
    out = str(tmp_path_factory.mktemp("f") / "run")
    argv = _argv("filter", target, options, out)
    _check(runner.invoke(app, argv), argv, outcome)


@settings(max_examples=120)
@given(target=TARGETS, options=OPTIONS, n_sims=st.sampled_from(["50", "0", "-1", "1e9", "x"]))
def test_decide_with_generated_arguments(tmp_path_factory, outcome, target, options, n_sims):
    out = str(tmp_path_factory.mktemp("d") / "run")
    argv = [*_argv("decide", target, options, out), "--n-sims", n_sims]
    _check(runner.invoke(app, argv), argv, outcome)


def test_named_cases_from_the_bad_input_report(tmp_path):
    for argv, named in (
        (["decide", "us_china", "--horizon", str(10**9)], "horizon"),
        (["decide", "us_china", "--seed", "-1"], "seed"),
        (["filter", "us_china", "--omega", "nan"], "nan"),
        (["fit", "--dyad", "USA:Chnia"], "Did you mean"),
        # NMC's pounds (to 1913) and dollars (from 1914): the window must not cross, and the
        # message names the dyad's spec and the options that fix it
        (["filter", "--dyad", "USA:MEX"], "<spec USA-MEX>: key 'data'"),
        (["filter", "--dyad", "USA:MEX"], "--end 1913 or --start 1914"),
    ):
        res = runner.invoke(app, [*argv, "--out", str(tmp_path / "never")])
        assert res.exit_code == 2, (argv, res.output)
        assert named in res.stderr, (argv, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "never").exists()
