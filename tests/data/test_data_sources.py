"""Raw readers: values against the raw files read independently, and malformed input."""

from __future__ import annotations

import csv
import math
import re
import warnings
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secdilemma.data import sources
from secdilemma.errors import DataError


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV read with the csv module only (independent of the library)."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_nmc_1985_milex_matches_csv(raw: Path) -> None:
    rows = read_rows(raw / sources.NMC_RELPATH)
    want = {r["stateabb"]: float(r["milex"]) for r in rows if r["year"] == "1985"}
    nmc = sources.read_nmc()
    got = nmc.loc[nmc["year"] == 1985].set_index("stateabb")["milex"]
    assert got["USA"] == want["USA"]
    assert got["RUS"] == want["RUS"]
    assert len(nmc) == len(rows) == 15951


def test_nmc_minus9_is_nan_never_zero(raw: Path) -> None:
    rows = read_rows(raw / sources.NMC_RELPATH)
    n_missing = sum(r["milex"] == "-9" for r in rows)
    nmc = sources.read_nmc()
    assert int(nmc["milex"].isna().sum()) == n_missing == 2217
    gdr = nmc.loc[(nmc["ccode"] == 265) & (nmc["year"] == 1955), "milex"].iloc[0]
    assert math.isnan(gdr)


def test_owid_1986_warheads(raw: Path) -> None:
    rows = read_rows(raw / sources.OWID_RELPATH)
    want = {r["Entity"]: float(r["nuclear_weapons_stockpile"]) for r in rows if r["Year"] == "1986"}
    w = sources.read_owid_warheads().query("Year == 1986").set_index("Entity")
    assert w.loc["United States", "nuclear_weapons_stockpile"] == want["United States"]
    assert w.loc["Russia", "nuclear_weapons_stockpile"] == want["Russia"]


def _openpyxl_value(raw: Path, sheet: str, country: str, year: int) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        wb = openpyxl.load_workbook(raw / sources.SIPRI_RELPATH, read_only=True, data_only=True)
    try:
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    header = next(r for r in rows if r[0] == "Country")
    col = next(i for i, v in enumerate(header) if v == year)
    return next(r for r in rows if r[0] == country)[col]


def test_sipri_china_2023_constant_matches_openpyxl(raw: Path) -> None:
    want = _openpyxl_value(raw, "Constant (2022) US$", "China", 2023)
    s = sources.read_sipri("constant")
    got = s.query("country == 'China' and year == 2023")["value"].iloc[0]
    assert isinstance(want, float)
    assert got == want


def test_sipri_codes_and_coverage() -> None:
    s = sources.read_sipri("constant")
    assert (int(s["year"].min()), int(s["year"].max())) == (1949, 2023)
    ussr = s.loc[s["country"] == "USSR"].set_index("year")
    assert ussr.loc[1988, "status"] == "ok"
    assert ussr.loc[1992, "status"] == "not_independent"
    assert math.isnan(ussr.loc[1992, "value"])
    assert ussr.loc[1960, "status"] == "unavailable"
    assert "Africa" not in set(s["country"])  # region headings skipped
    cur = sources.read_sipri("current")
    assert cur.query("country == 'United States of America' and year == 2022")["value"].iloc[
        0
    ] == pytest.approx(860692.2)


def test_sipri_cached_fast() -> None:
    import time

    sources.read_sipri("constant")
    t = time.perf_counter()
    for _ in range(5):
        sources.read_sipri("constant")
    assert time.perf_counter() - t < 1.0


def test_sipri_bad_sheet_and_file(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Something else"
    p = tmp_path / "s.xlsx"
    wb.save(p)
    with pytest.raises(DataError, match=r"no sheet named 'Constant \(2022\) US\$'"):
        sources.read_sipri("constant", path=p)
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(DataError, match="cannot read as an xlsx"):
        sources.read_sipri("constant", path=bad)
    with pytest.raises(DataError, match="argument 'measure'"):
        sources.read_sipri("real")  # type: ignore[arg-type]


def test_sipri_written_xlsx_roundtrip(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Constant (2022) US$"
    ws.append(["title"])
    ws.append(["Country", None, "Notes", 2000, 2001])
    ws.append(["Europe", None, None, None, None])
    ws.append(["Ruritania", None, "", 5.0, "xxx"])
    p = tmp_path / "s.xlsx"
    wb.save(p)
    out = sources.read_sipri("constant", path=p)
    assert out["value"].tolist()[0] == 5.0
    assert out["status"].tolist() == ["ok", "not_independent"]


@SETTINGS
@given(
    row=st.integers(min_value=0, max_value=3),
    col=st.integers(min_value=0, max_value=2),
    bad=st.sampled_from(["n/a", "12,5", "-3", "1e", "abc"]),
)
def test_sipri_rows_bad_cell_named(row: int, col: int, bad: str) -> None:
    years = [2000, 2001, 2002]
    rows: list[list[object]] = [["Country", "Notes", *years], ["Region", None, None, None, None]]
    for i in range(4):
        rows.append([f"State{i}", "", 1.0, 2.0, ". ."])
    value: object = -3.0 if bad == "-3" else bad
    rows[2 + row][2 + col] = value
    with pytest.raises(DataError) as exc:
        sources.parse_sipri_rows(rows, file="f.xlsx", sheet="S")
    msg = str(exc.value)
    cell = f"{'CDE'[col]}{3 + row}"
    assert f"cell {cell} (State{row}, {years[col]})" in msg


def test_sipri_rows_structure_errors() -> None:
    with pytest.raises(DataError, match="no header row"):
        sources.parse_sipri_rows([["x", 1]])
    with pytest.raises(DataError, match="year 2000 appears twice"):
        sources.parse_sipri_rows([["Country", 2000, 2000], ["A", 1.0, 2.0]])
    with pytest.raises(DataError, match="appears twice"):
        sources.parse_sipri_rows([["Country", 2000], ["A", 1.0], ["A", 2.0]])


# ----------------------------------------------------------------- malformed NMC CSVs

NMC_HEADER = ["stateabb", "ccode", "year", "milex", "milper", "version"]


def _nmc_rows(n: int) -> list[list[str]]:
    return [["AAA", "1", str(1900 + i), str(100 + i), "-9", "2021"] for i in range(n)]


@SETTINGS
@given(drop=st.sampled_from(["stateabb", "ccode", "year", "milex", "milper"]))
def test_nmc_dropped_column_named(tmp_path: Path, drop: str) -> None:
    keep = [i for i, h in enumerate(NMC_HEADER) if h != drop]
    rows = [[r[i] for i in keep] for r in _nmc_rows(3)]
    p = write_rows(tmp_path / "nmc.csv", [NMC_HEADER[i] for i in keep], rows)
    with pytest.raises(DataError, match=rf"missing required column\(s\) \['{drop}'\]"):
        sources.read_nmc(p)


@SETTINGS
@given(col=st.sampled_from(["ccode", "year", "milex", "milper"]))
def test_nmc_misspelled_column_suggests(tmp_path: Path, col: str) -> None:
    header = [h if h != col else col.upper() + "_" for h in NMC_HEADER]
    p = write_rows(tmp_path / "nmc.csv", header, _nmc_rows(2))
    with pytest.raises(DataError) as exc:
        sources.read_nmc(p)
    assert f"'{col}'" in str(exc.value)
    assert "Did you mean" in str(exc.value)


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=30),
    data=st.data(),
    bad=st.sampled_from(["abc", "1.2.3", "--", "NaNx", "twelve"]),
    col=st.sampled_from(["ccode", "year", "milex", "milper"]),
)
def test_nmc_non_numeric_names_column_and_line(
    tmp_path: Path, n: int, data: st.DataObject, bad: str, col: str
) -> None:
    rows = _nmc_rows(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 1))
    rows[i][NMC_HEADER.index(col)] = bad
    p = write_rows(tmp_path / "nmc.csv", NMC_HEADER, rows)
    with pytest.raises(DataError) as exc:
        sources.read_nmc(p)
    msg = str(exc.value)
    assert f"column '{col}', line {i + 2}" in msg
    assert repr(bad) in msg


@SETTINGS
@given(n=st.integers(min_value=2, max_value=30), data=st.data())
def test_nmc_duplicate_year_names_lines(tmp_path: Path, n: int, data: st.DataObject) -> None:
    rows = _nmc_rows(n)
    i = data.draw(st.integers(min_value=0, max_value=n - 2))
    j = data.draw(st.integers(min_value=i + 1, max_value=n - 1))
    rows[j][2] = rows[i][2]
    p = write_rows(tmp_path / "nmc.csv", NMC_HEADER, rows)
    with pytest.raises(DataError) as exc:
        sources.read_nmc(p)
    msg = str(exc.value)
    assert "duplicate rows" in msg
    assert re.search(rf"lines {i + 2}, {j + 2}\b", msg)


@SETTINGS
@given(val=st.sampled_from(["-1", "-9.5", "-100"]), col=st.sampled_from(["milex", "milper"]))
def test_nmc_negative_other_than_minus9(tmp_path: Path, val: str, col: str) -> None:
    rows = _nmc_rows(3)
    rows[1][NMC_HEADER.index(col)] = val
    p = write_rows(tmp_path / "nmc.csv", NMC_HEADER, rows)
    with pytest.raises(DataError, match=rf"column '{col}', line 3: negative value"):
        sources.read_nmc(p)


def test_csv_edge_cases(tmp_path: Path) -> None:
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(DataError, match="empty"):
        sources.read_nmc(p)
    p2 = write_rows(tmp_path / "h.csv", NMC_HEADER, [])
    with pytest.raises(DataError, match="no data rows"):
        sources.read_nmc(p2)
    p3 = tmp_path / "ragged.csv"
    p3.write_text(",".join(NMC_HEADER) + "\nAAA,1,1900,5\n")
    with pytest.raises(DataError, match="line 2 has 4 fields"):
        sources.read_nmc(p3)
    with pytest.raises(DataError, match="file not found"):
        sources.read_nmc(tmp_path / "nope.csv")


@SETTINGS
@given(
    col=st.sampled_from(["Year", "nuclear_weapons_stockpile"]),
    bad=st.sampled_from(["x", "-5", "1.5e"]),
    i=st.integers(min_value=0, max_value=4),
)
def test_owid_bad_values(tmp_path: Path, col: str, bad: str, i: int) -> None:
    header = ["Entity", "Code", "Year", "nuclear_weapons_stockpile"]
    rows = [["A", "AAA", str(2000 + k), "10"] for k in range(5)]
    rows[i][header.index(col)] = bad
    p = write_rows(tmp_path / "w.csv", header, rows)
    with pytest.raises(DataError, match=rf"column '{col}', line {i + 2}"):
        sources.read_owid_warheads(p)


def test_compiled_readers_validate(tmp_path: Path) -> None:
    header = ["case", "date", "actor", "channel", "label", "source"]
    p = write_rows(
        tmp_path / "e.csv", header, [["us_ussr", "1962-10", "RUS", "gunboat", "x", "https://a"]]
    )
    with pytest.raises(DataError, match="column 'channel', line 2"):
        sources.read_case_events_compiled(p)
    p = write_rows(
        tmp_path / "e.csv", header, [["us_ussr", "62-10", "RUS", "use_of_force", "x", "https://a"]]
    )
    with pytest.raises(DataError, match="column 'date', line 2"):
        sources.read_case_events_compiled(p)
    p = write_rows(
        tmp_path / "e.csv", header, [["us_ussr", "1962", "RUS", "use_of_force", "x", "a book"]]
    )
    with pytest.raises(DataError, match="column 'source', line 2"):
        sources.read_case_events_compiled(p)


def test_treaties_and_dreadnought_files_read() -> None:
    t = sources.read_treaties()
    assert set(t["treaty"]) >= {"INF Treaty", "New START"}
    ships = sources.read_dreadnought_ships()
    assert len(ships) == 53
