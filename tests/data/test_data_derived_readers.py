"""The MID, ATOP and derived-signal readers: the rules on small files, and malformed input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from secdilemma.data.alliances import alliance_counts, defense_onsets, read_atop_defense
from secdilemma.data.cases import read_derived_signals
from secdilemma.data.channels import signals_variable
from secdilemma.data.mid import mid_counts, read_gml_mid
from secdilemma.errors import DataError

MID_HEAD = "dispnum,ccode1,ccode2,year,gmlmidonset,sidea1,sidea2,orig1,orig2,hostlev1,hostlev2\n"


def _mid_pair(
    d: int, a: int, b: int, y: int, onset: int, sa: int, oa: int, ob: int, ha: int, hb: int
) -> str:
    """The two directed rows of one pair-year (a on side A when sa = 1)."""
    return (
        f"{d},{a},{b},{y},{onset},{sa},{1 - sa},{oa},{ob},{ha},{hb}\n"
        f"{d},{b},{a},{y},{onset},{1 - sa},{sa},{ob},{oa},{hb},{ha}\n"
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_mid_rule_on_a_small_file(tmp_path: Path) -> None:
    text = MID_HEAD + "".join(
        [
            _mid_pair(1, 10, 20, 1900, 1, 1, 1, 1, 3, 1),  # 10 threatens 20
            _mid_pair(1, 10, 20, 1901, 0, 1, 1, 1, 3, 1),  # ongoing: not counted again
            _mid_pair(2, 10, 20, 1902, 1, 1, 1, 1, 4, 4),  # 10 uses force, 20 replies
            _mid_pair(3, 10, 20, 1903, 1, 1, 1, 0, 5, 5),  # 20 a joiner: not counted
            _mid_pair(4, 10, 20, 1904, 1, 0, 1, 1, 2, 4),  # 20 starts with force, 10 threat
        ]
    )
    p = _write(tmp_path / "mid.csv", text)
    got = mid_counts(10, 20, range(1899, 1906), path=p)
    want = np.zeros((7, 2, 3))
    want[1, 0, 0] = 1  # 1900
    want[3, 0, 1] = want[3, 1, 2] = 1  # 1902
    want[5, 1, 1] = 1  # 1904: 20 uses force; 10's threat in reply is not counted
    np.testing.assert_array_equal(got, want)
    assert np.isnan(mid_counts(10, 20, [1815, 2011], path=p)).all()


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        (_mid_pair(1, 10, 20, 1900, 2, 1, 1, 1, 3, 1), "column 'gmlmidonset', line 2"),
        (_mid_pair(1, 10, 20, 1900, 1, 1, 1, 1, 6, 1), "column 'hostlev1', line 2"),
        (_mid_pair(1, 10, 20, 2011, 1, 1, 1, 1, 3, 1), "column 'year', line 2"),
        ("1,10,10,1900,1,1,0,1,1,3,1\n", "column 'ccode2', line 2"),
        ("1,10,20,1900,1,1,1,1,1,3,1\n", "side"),
        ("1,10,20,1900,1,1,0,1,1,3,1\n", "line 2: the directed row (10, 20, 1900)"),
        (_mid_pair(1, 10, 20, 1900, 1, 1, 1, 1, 3, 1) * 2, "duplicate rows"),
        ("1,10,x,1900,1,1,0,1,1,3,1\n", "column 'ccode2', line 2"),
    ],
)
def test_bad_mid_files(tmp_path: Path, rows: str, needle: str) -> None:
    p = _write(tmp_path / "mid.csv", MID_HEAD + rows)
    with pytest.raises(DataError, match=r"mid\.csv") as info:
        read_gml_mid(p)
    assert needle in str(info.value)


def test_mid_missing_column(tmp_path: Path) -> None:
    p = _write(tmp_path / "mid.csv", "dispnum,ccode1,ccode2,year\n1,10,20,1900\n")
    with pytest.raises(DataError, match="missing required column"):
        read_gml_mid(p)


ATOP_HEAD = "ccode1,ccode2,year,atop_defense,atop_offense\n"


def _atop(rows: list[tuple[int, int, int, int]]) -> str:
    out = ATOP_HEAD
    for a, b, y, d in rows:
        out += f"{a}.0,{b}.0,{y}.0,{d}.0,0.0\n{b}.0,{a}.0,{y}.0,{d}.0,0.0\n"
    return out


def test_onset_rule_on_a_small_file(tmp_path: Path) -> None:
    rows = [(1, 2, 1815, 1), (1, 2, 1816, 1)]  # 1815 is never an onset; 1816 continues
    rows += [(1, 3, 1900, 1), (1, 3, 1901, 1), (1, 3, 1903, 1)]  # onsets 1900 and 1903
    rows += [(1, 4, 1900, 0), (1, 4, 1901, 1)]  # a non-defence obligation first: 1901 new
    p = tmp_path / "atop.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write(_atop(rows))
    on = defense_onsets(p)
    got = {(int(a), int(b), int(y)) for a, b, y in on[["ccode1", "ccode2", "year"]].values}
    assert {x for x in got if x[0] == 1} == {(1, 3, 1900), (1, 3, 1903), (1, 4, 1901)}
    counts = alliance_counts(1, [1815, 1816, 1900, 1901, 1903, 2019], exclude={4}, path=p)
    np.testing.assert_array_equal(counts, [np.nan, 0, 1, 0, 1, np.nan])
    by_year = alliance_counts(1, [1901], exclude={1901: {3}}, path=p)
    assert by_year.tolist() == [1.0]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (ATOP_HEAD + "1.0,x,1900.0,1.0,0.0\n", "column 'ccode2', line 2"),
        (ATOP_HEAD + "1.0,2.0,1900.5,1.0,0.0\n", "column 'year', line 2"),
        (ATOP_HEAD + "1.0,2.0,,1.0,0.0\n", "column 'year', line 2"),
        (ATOP_HEAD + "1.0,2.0,2019.0,1.0,0.0\n", "column 'year', line 2"),
        (ATOP_HEAD + "1.0,2.0,1900.0,2.0,0.0\n", "column 'atop_defense', line 2"),
        (ATOP_HEAD + "1.0,1.0,1900.0,1.0,0.0\n", "column 'ccode2', line 2"),
        (ATOP_HEAD + "1,2,1900,1,0\n1,2,1900,0,0\n", "lines [2, 3]"),
        ("ccode1,ccode2,year\n1,2,1900\n", "missing required column(s) ['atop_defense']"),
        (ATOP_HEAD, "no data rows"),
        ("", "empty"),
    ],
)
def test_bad_atop_files(tmp_path: Path, text: str, needle: str) -> None:
    p = _write(tmp_path / "atop.csv", text)
    with pytest.raises(DataError, match=r"atop\.csv") as info:
        read_atop_defense(p)
    assert needle in str(info.value)


def test_atop_not_gzip(tmp_path: Path) -> None:
    p = tmp_path / "atop.csv.gz"
    p.write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(DataError, match="cannot read"):
        read_atop_defense(p)


DS_HEAD = "observer,year,actor,actor_code,channel,value\n"
_CH = ("mid_threat_display", "mid_use_of_force", "mid_force_in_reply", "alliance_new_defense_pact")


def _ds_rows(years: list[int], skip: int = -1) -> str:
    rows = [
        f"usa,{y},{a},{c},{ch},1\n"
        for y in years
        for a, c in (("observer", "USA"), ("rival", "RUS"))
        for ch in _CH
    ]
    return "".join(r for i, r in enumerate(rows) if i != skip)


def test_read_derived_signals(tmp_path: Path) -> None:
    p = _write(tmp_path / "d.csv", DS_HEAD + _ds_rows([2000, 2001]).replace(",1\n", ",\n", 1))
    got = read_derived_signals(p, "usa", ("USA", "RUS"), [2000, 2001])
    assert got.shape == (2, 2, 4)
    assert np.isnan(got[0, 0, 0])
    assert np.nansum(got) == 15


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (DS_HEAD + _ds_rows([2000]).replace("mid_use_of_force", "mid_war"), "column 'channel'"),
        (DS_HEAD + _ds_rows([2000]).replace("RUS", "CHN"), "column 'actor_code'"),
        (DS_HEAD + _ds_rows([2000]).replace("rival", "other"), "column 'actor'"),
        (DS_HEAD + _ds_rows([2000], skip=3), "no row for year 2000, actor 'observer'"),
        (DS_HEAD + _ds_rows([2000]).replace(",1\n", ",-1\n", 1), "negative"),
    ],
)
def test_bad_derived_signals(tmp_path: Path, text: str, needle: str) -> None:
    p = _write(tmp_path / "d.csv", text)
    with pytest.raises(DataError, match=r"d\.csv") as info:
        read_derived_signals(p, "usa", ("USA", "RUS"), [2000])
    assert needle in str(info.value)


def test_signals_variable_shapes() -> None:
    with pytest.raises(DataError, match="curated signal counts"):
        signals_variable(np.zeros((2, 2, 7)), None)
    with pytest.raises(DataError, match="derived signals"):
        signals_variable(np.zeros((2, 2, 8)), np.zeros((2, 2, 3)))
    v = signals_variable(np.ones((1, 2, 8)), np.zeros((1, 2, 4)))
    assert v.dims == ("period", "actor", "signal")
    assert v.values.sum() == 16
