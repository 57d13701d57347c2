"""Bad input on the data floor: every failure is a DataError naming the file/column/row or
argument and saying what to do, never a bare UnicodeDecodeError, OverflowError, MemoryError
or an error that blames something downstream.

The property tests (derandomised) check that every outcome is either a valid result or a
:class:`DataError` (a SecdilemmaError) whose message names the offending input.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secdilemma.data import case_info, load_case, make_dyad, sources, to_moves
from secdilemma.data.cases import read_case_table
from secdilemma.data.csvtable import read_csv_table
from secdilemma.data.events import read_events
from secdilemma.data.moves import MAX_ABS_MOVE
from secdilemma.data.schema import Column
from secdilemma.errors import DataError

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

NMC_HEADER = ["stateabb", "ccode", "year", "milex", "milper"]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """(result, None), or (None, message) when ``fn`` raises a DataError.

    Any other exception (a SecdilemmaError of another kind, or a bare
    UnicodeDecodeError / OverflowError / TypeError ...) propagates and fails the test.
    """
    try:
        return fn(*args, **kwargs), None
    except DataError as exc:
        return None, str(exc)


def moves_dataset(levels: np.ndarray, periods: object = None) -> xr.Dataset:
    """A minimal dyad Dataset with ``milex`` (period, actor) = levels."""
    n = levels.shape[0]
    return xr.Dataset(
        {"milex": (("period", "actor"), levels, {"units": "x"})},
        coords={
            "period": np.arange(2000, 2000 + n) if periods is None else periods,
            "actor": ["observer", "rival"],
            "actor_code": ("actor", ["AAA", "BBB"]),
        },
    )


# ------------------------------------------------------------------- a. not UTF-8


def test_non_utf8_csv_names_file_and_byte_offset(tmp_path: Path) -> None:
    p = tmp_path / "nmc.csv"
    head = b"stateabb,ccode,year,milex,milper\n"
    row1 = b"AAA,1,1900,100,5\n"
    p.write_bytes(head + row1 + b"AAA,1,1901,1\xff0,5\n")
    offset = len(head + row1) + len(b"AAA,1,1901,1")
    with pytest.raises(DataError) as exc:
        sources.read_nmc(p)
    msg = str(exc.value)
    assert str(p) in msg
    assert f"byte offset {offset} (line 3)" in msg
    assert "0xff" in msg
    assert "UTF-8" in msg


def test_non_utf8_in_header_and_other_readers(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_bytes(b"date,ye\xe9ar,actor,role,channel,label,source\n")
    with pytest.raises(DataError, match=r"byte offset 7 \(line 1\) is 0xe9.*UTF-8"):
        read_events(p)
    with pytest.raises(DataError, match="byte offset 7"):
        read_case_table(p)
    with pytest.raises(DataError, match="byte offset 7"):
        sources.read_owid_warheads(p)


def test_latin1_far_into_a_file(tmp_path: Path) -> None:
    """The offset is the file's, not the offset inside the decoder's buffer."""
    rows = [["AAA", "1", str(1000 + i), "1", "1"] for i in range(1500)]
    p = write_rows(tmp_path / "n.csv", NMC_HEADER, rows)
    data = bytearray(p.read_bytes())
    pos = data.rindex(b"AAA")
    data[pos] = 0xC4  # Latin-1 'Ä'
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"byte offset {pos} \(line 1501\)"):
        sources.read_nmc(p)


def test_utf8_bom_still_read(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"\xef\xbb\xbfyear,v\n2000,1\n")
    assert read_csv_table(p, [Column("year", "year"), Column("v", "float")])["v"].tolist() == [1.0]


# ------------------------------------------------------------------- b. year arguments


@pytest.mark.parametrize("bad", ["²⁰⁰⁰", "٢٠٠٠", "２０００", "2000.0", "1e3", "", True, 2000.0])
def test_year_argument_only_ascii_digits_or_int(bad: object) -> None:
    with pytest.raises(DataError, match=r"argument 'start': expected an integer year"):
        make_dyad("USA", "China", start=bad, end=2001)  # type: ignore[arg-type]


def test_year_argument_huge_digit_string_is_typed() -> None:
    with pytest.raises(DataError, match="argument 'end'"):
        make_dyad("USA", "China", start=1990, end="9" * 5000)


def test_year_argument_valid_forms() -> None:
    a = make_dyad("USA", "China", start=" 1990 ", end=np.int64(1992))  # type: ignore[arg-type]
    assert a["period"].values.tolist() == [1990, 1991, 1992]


# ------------------------------------------------------------------- c. beyond int64


@pytest.mark.parametrize("big", ["99999999999999999999", "9223372036854775808", "1e300"])
def test_cow_code_beyond_int64_names_file_column_line(tmp_path: Path, big: str) -> None:
    p = write_rows(
        tmp_path / "codes.csv",
        ["StateAbb", "CCode", "StateNme"],
        [["USA", "2", "United States"], ["XXX", big, "Bigland"]],
    )
    with pytest.raises(DataError) as exc:
        sources.read_cow_codes(p)
    msg = str(exc.value)
    assert f"{p}: column 'CCode', line 3" in msg
    assert "64-bit integer range" in msg


def test_int64_bounds_exact(tmp_path: Path) -> None:
    cols = [Column("n", "int")]
    ok = write_rows(tmp_path / "ok.csv", ["n"], [["9223372036854775807"], ["-9223372036854775808"]])
    assert read_csv_table(ok, cols)["n"].tolist() == [2**63 - 1, -(2**63)]
    bad = write_rows(tmp_path / "bad.csv", ["n"], [["-9223372036854775809"]])
    with pytest.raises(DataError, match="column 'n', line 2"):
        read_csv_table(bad, cols)


@pytest.mark.parametrize(
    ("cell", "value"), [("D3", 10**400), ("E2", -(10**400)), ("D2", float("inf"))]
)
def test_sipri_value_beyond_range_names_cell(cell: str, value: object) -> None:
    """An int beyond the float range (OverflowError in float()) or an infinite value."""
    rows: list[list[object]] = [["Country", None, "Notes", 2000, 2001]]
    rows += [["A", None, "", 1.0, 2.0], ["B", None, "", 3.0, 4.0]]
    col, row = "ABCDE".index(cell[0]), int(cell[1]) - 1
    rows[row][col] = value
    with pytest.raises(DataError, match=rf"f\.xlsx, sheet 'S': cell {cell} \(.*non-negative"):
        sources.parse_sipri_rows(rows, file="f.xlsx", sheet="S")


def test_sipri_large_finite_int_is_a_value() -> None:
    rows = [["Country", 2000], ["A", 10**30]]
    assert sources.parse_sipri_rows(rows)["value"].tolist() == [1e30]


@pytest.mark.parametrize("year", [10**30, 1e300, -2000, 99999, float("nan")])
def test_sipri_header_year_out_of_range_names_cell(year: object) -> None:
    rows = [["Country", "Notes", 2000, year], ["A", "", 1.0, 2.0]]
    with pytest.raises(DataError, match=r"header cell D1"):
        sources.parse_sipri_rows(rows, file="f.xlsx", sheet="S")


# ------------------------------------------------------------------- d. huge years


def test_case_table_with_absurd_year_is_rejected_before_allocating(
    tmp_path: Path, cases: Path
) -> None:
    lines = (cases / "us_ussr" / "us_ussr.csv").read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "c.csv"
    last = lines[-1].split(",", 1)
    bad.write_text("\n".join([*lines[:-1], f"10000000000,{last[1]}"]) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        read_case_table(bad)
    msg = str(exc.value)
    assert f"{bad}: column 'year', line {len(lines)}" in msg
    assert "outside 1000-3000" in msg


@pytest.mark.parametrize("year", ["999", "3001", "-1950", "20000"])
def test_year_columns_bounded_in_raw_readers(tmp_path: Path, year: str) -> None:
    rows = [["AAA", "1", "1900", "1", "1"], ["AAA", "1", year, "1", "1"]]
    p = write_rows(tmp_path / "n.csv", NMC_HEADER, rows)
    with pytest.raises(DataError, match=r"column 'year', line 3"):
        sources.read_nmc(p)


# ------------------------------------------------------------------- e. to_moves


def test_to_moves_string_periods() -> None:
    ds = moves_dataset(np.ones((3, 2)), periods=["a", "b", "c"])
    with pytest.raises(DataError, match=r"coordinate 'period': periods must be integer years"):
        to_moves(ds)


def test_to_moves_duplicate_actor_labels() -> None:
    ds = moves_dataset(np.ones((3, 2))).assign_coords(actor=["rival", "rival"])
    with pytest.raises(DataError, match=r"coordinate 'actor'.*'observer' and 'rival'"):
        to_moves(ds)


def test_to_moves_zero_periods() -> None:
    with pytest.raises(DataError, match=r"coordinate 'period': the Dataset has no periods"):
        to_moves(moves_dataset(np.ones((0, 2))))


@pytest.mark.parametrize("transform", ["log_diff", "diff", "pct"])
def test_to_moves_infinite_level(transform: str) -> None:
    lv = np.full((4, 2), 10.0)
    lv[2, 1] = np.inf
    with pytest.raises(DataError) as exc:
        to_moves(moves_dataset(lv), transform=transform)  # type: ignore[arg-type]
    msg = str(exc.value)
    assert "variable 'milex', actor rival (BBB): infinite value in period(s) 2002" in msg
    assert f"transform {transform!r}" in msg


def test_to_moves_pct_overflow() -> None:
    lv = np.array([[1.0, 1e-300], [1.0, 1e300], [1.0, 1.0]])
    with pytest.raises(DataError) as exc:
        to_moves(moves_dataset(lv), transform="pct")
    msg = str(exc.value)
    assert "variable 'milex', actor rival (BBB)" in msg
    assert "transform 'pct'" in msg
    assert "2001" in msg


def test_to_moves_diff_huge_range_blames_the_series() -> None:
    lv = np.array([[1e-300, 1.0], [1e300, 2.0], [1.0, 3.0]])
    with pytest.raises(DataError) as exc:
        to_moves(moves_dataset(lv), transform="diff")
    msg = str(exc.value)
    assert "variable 'milex', actor observer (AAA)" in msg
    assert "transform 'diff'" in msg
    assert "signal" not in msg
    # the same series is fine in logs (log points of about ±690)
    mv = to_moves(moves_dataset(lv), transform="log_diff")
    assert np.isfinite(mv["u"].values[1:]).all()


def test_to_moves_non_numeric_variable() -> None:
    ds = moves_dataset(np.ones((2, 2)))
    ds["names"] = (("period", "actor"), np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(DataError, match=r"variable 'names': dtype .* is not numeric"):
        to_moves(ds, variable="names")


# ------------------------------------------------------------------- f. suggestions


def test_unknown_country_gets_nearest_names() -> None:
    with pytest.raises(DataError, match=r"argument 'rival': unknown country 'Chian'.*China"):
        make_dyad("USA", "Chian")
    with pytest.raises(DataError, match=r"argument 'observer'.*Did you mean.*United States"):
        make_dyad("Untied States", "China")


@pytest.mark.parametrize(
    ("name", "hint"),
    [("us_chna", "'us_china'"), ("russia_nto", "'russia_nato'"), ("naval", "anglo_german_naval")],
)
def test_misspelled_case_gets_nearest_cases(name: str, hint: str) -> None:
    for fn in (load_case, case_info):
        with pytest.raises(DataError) as exc:
            fn(name)
        msg = str(exc.value)
        assert f"argument 'name': unknown case {name!r}" in msg
        assert re.search(rf"Did you mean [^?]*{hint}", msg)


def test_misspelled_observer_option_suggests() -> None:
    with pytest.raises(DataError, match=r"argument 'observer'.*Did you mean 'nato_europe'"):
        load_case("russia_nato", observer="nato-europe")


# ------------------------------------------------------------------- properties

cell_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=25,
)


@SETTINGS
@given(
    col=st.sampled_from(NMC_HEADER),
    value=cell_text | st.integers().map(str) | st.floats().map(str),
    row=st.integers(0, 2),
)
def test_property_nmc_cell(tmp_path: Path, col: str, value: str, row: int) -> None:
    """Any cell text: a valid table, or a DataError naming the file and the column and line
    (or the duplicated lines)."""
    rows = [["AAA", "1", str(1900 + i), "10", "5"] for i in range(3)]
    rows[row][NMC_HEADER.index(col)] = value
    p = write_rows(tmp_path / "nmc.csv", NMC_HEADER, rows)
    frame, err = attempt(sources.read_nmc, p)
    if err is not None:
        assert str(p) in err
        assert f"column '{col}', line {row + 2}" in err or "duplicate rows" in err, err
        return
    assert len(frame) == 3
    assert frame["ccode"].dtype == np.int64
    assert frame["year"].between(1000, 3000).all()
    milex = frame["milex"].to_numpy()
    assert np.all(np.isnan(milex) | (np.isfinite(milex) & (milex >= 0)))


@SETTINGS
@given(data=st.binary(max_size=40), pos=st.integers(0, 30))
def test_property_csv_bytes(tmp_path: Path, data: bytes, pos: int) -> None:
    """Arbitrary bytes spliced into a valid file: a table or a DataError naming the file."""
    good = b"year,value\n2000,1.5\n2001,2.5\n"
    p = tmp_path / "t.csv"
    p.write_bytes(good[:pos] + data + good[pos:])
    cols = [Column("year", "year"), Column("value", "float")]
    frame, err = attempt(read_csv_table, p, cols, key=("year",))
    if err is not None:
        assert str(p) in err
        return
    assert frame["year"].between(1000, 3000).all()
    assert np.isfinite(frame["value"].dropna().to_numpy()).all()


sipri_cell = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([". .", "...", "xxx", "XXX", "", " "]),
    cell_text,
)


@SETTINGS
@given(value=sipri_cell, row=st.integers(0, 1), col=st.integers(0, 1))
def test_property_sipri_cell(value: object, row: int, col: int) -> None:
    rows: list[list[object]] = [["Country", "Notes", 2000, 2001]]
    rows += [["A", "", 1.0, 2.0], ["B", "", 3.0, 4.0]]
    rows[1 + row][2 + col] = value
    out, err = attempt(sources.parse_sipri_rows, rows, file="f.xlsx", sheet="S")
    if err is not None:
        assert f"f.xlsx, sheet 'S': cell {'CD'[col]}{row + 2} ({'AB'[row]}, {2000 + col})" in err
        return
    vals = out["value"].to_numpy()
    assert np.all(np.isnan(vals) | (np.isfinite(vals) & (vals >= 0)))
    assert set(out["status"]) <= {"ok", "unavailable", "not_independent"}


year_arg = st.one_of(
    st.none(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=1940, max_value=2030),
    st.integers(min_value=1940, max_value=2030).map(str),
    st.floats(allow_nan=True, allow_infinity=True),
    cell_text,
)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(start=year_arg, end=year_arg)
def test_property_make_dyad_years(start: object, end: object) -> None:
    ds, err = attempt(make_dyad, "USA", "China", source="sipri", start=start, end=end)
    if err is not None:
        # a bad argument names it; a valid year outside the data names the range
        assert re.search(r"argument '(start|end)'|arguments 'start'/'end'|in \d{4}-\d{4}", err)
        return
    periods = ds["period"].values
    assert periods.dtype == np.int64
    if start is not None:
        assert periods[0] == int(str(start).strip())
    if end is not None:
        assert periods[-1] == int(str(end).strip())


@SETTINGS
@given(name=st.one_of(cell_text, st.integers(), st.none()))
def test_property_load_case_names(name: object) -> None:
    ds, err = attempt(load_case, name)
    if err is not None:
        assert f"argument 'name': unknown case {name!r}" in err
        return
    assert ds.attrs["case"] == name


level = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-300, 1e300, 5e-324, math.nan]),
    st.floats(min_value=1.0, max_value=1e6),
)


@SETTINGS
@given(
    values=st.lists(st.tuples(level, level), min_size=1, max_size=6),
    transform=st.sampled_from(["log_diff", "diff", "pct"]),
)
def test_property_to_moves(values: list[tuple[float, float]], transform: str) -> None:
    ds = moves_dataset(np.asarray(values, dtype=np.float64))
    mv, err = attempt(to_moves, ds, transform=transform)
    if err is not None:
        assert "variable 'milex'" in err
        assert f"transform {transform!r}" in err
        assert re.search(r"actor (observer \(AAA\)|rival \(BBB\))", err)
        return
    for name in ("x", "dx", "y", "u"):
        v = mv[name].values
        present = v[~np.isnan(v)]
        assert np.all(np.abs(present) <= MAX_ABS_MOVE), name
    assert mv.sizes["period"] == len(values)


@SETTINGS
@given(
    periods=st.one_of(
        st.lists(cell_text, min_size=2, max_size=2),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=2, max_size=2),
        st.lists(st.integers(-5, 5), min_size=2, max_size=2),
    )
)
def test_property_to_moves_periods(periods: list[object]) -> None:
    ds = moves_dataset(np.ones((2, 2)), periods=np.asarray(periods))
    mv, err = attempt(to_moves, ds)
    if err is not None:
        assert "coordinate 'period'" in err
        return
    assert np.all(np.diff(mv["period"].values) == 1)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: make_dyad("USA", "China", source="sipri", variable=["milex"]), "variable"),
        (lambda: make_dyad("USA", "China", variable={"milex"}), "variable"),
        (lambda: make_dyad(["USA"], "China"), "observer"),
        (lambda: sources.read_sipri(["constant"]), "measure"),
        (lambda: load_case(["us_ussr"]), "name"),
        (lambda: load_case("us_ussr", observer=["usa"]), "observer"),
        (lambda: to_moves(load_case("us_ussr"), variable=["milex"]), "variable"),
    ],
)
def test_unhashable_arguments_are_typed_errors(call: Callable[[], Any], argument: str) -> None:
    with pytest.raises(DataError, match=f"argument '{argument}'"):
        call()
