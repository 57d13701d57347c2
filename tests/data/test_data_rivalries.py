"""Rivalry lists: values against the raw CSV read with the csv module, and malformed input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from secdilemma.data.rivalries import RIVALRY_COLUMNS, TSS_FLAGS, read_rivalries
from secdilemma.data.sources import read_rivalries as reexported
from secdilemma.errors import DataError


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize(
    ("which", "file", "id_col", "name_col", "start_col", "end_col"),
    [
        ("tss", "tss_rivalries.csv", "tssr_id", "rivalry", "start", "end"),
        ("td", "td_rivalries.csv", "rivalryno", "rivalryname", "styear", "endyear"),
    ],
)
def test_rivalries_match_raw(
    raw: Path, which: str, file: str, id_col: str, name_col: str, start_col: str, end_col: str
) -> None:
    rows = _rows(raw / "peacesciencer" / file)
    frame = read_rivalries(which)  # type: ignore[arg-type]
    assert tuple(frame.columns) == RIVALRY_COLUMNS
    assert len(frame) == len(rows) == {"tss": 264, "td": 197}[which]
    for got, row in zip(frame.to_dict("records"), rows, strict=True):
        assert got["list"] == which
        assert got["id"] == int(float(row[id_col]))
        assert got["name"] == row[name_col]
        assert (got["ccode1"], got["ccode2"]) == (
            int(float(row["ccode1"])),
            int(float(row["ccode2"])),
        )
        assert (got["start"], got["end"]) == (int(float(row[start_col])), int(float(row[end_col])))
        if which == "tss":
            assert got["flags"] == tuple(f for f in TSS_FLAGS if row[f] == "1.0")
            assert got["region"] is None
        else:
            assert got["flags"] == tuple(row[c] for c in ("type1", "type2", "type3") if row[c])
            assert got["region"] == row["region"]
    assert reexported is read_rivalries


def test_named_rivalries() -> None:
    tss = read_rivalries("tss")
    ip = tss.loc[tss["name"] == "India-Pakistan"].iloc[0]
    assert (ip["ccode1"], ip["ccode2"], ip["start"], ip["end"]) == (750, 770, 1947, 2020)
    assert "principal" in ip["flags"]
    gt = tss.loc[(tss["ccode1"] == 350) & (tss["ccode2"] == 640)]
    assert len(gt) == 2  # Greece-Turkey 1 and 2
    td = read_rivalries("td")
    ee = td.loc[td["name"] == "Eritrea-Ethiopia"].iloc[0]
    assert (ee["ccode1"], ee["ccode2"], ee["start"], ee["end"]) == (530, 531, 1998, 2010)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


_TSS_HEAD = (
    "tssr_id,rivalry,ccode1,ccode2,start,end,positional,spatial,ideological,"
    "interventionary,principal,aprin\n"
)
_TD_HEAD = "rivalryno,rivalryname,ccode1,ccode2,styear,endyear,region,type1,type2,type3\n"


@pytest.mark.parametrize(
    ("which", "text", "needle"),
    [
        (
            "tss",
            _TSS_HEAD + "1,A-B,2.0,20.0,1900.0,1950.0,2.0,,,,,\n",
            "column 'positional', line 2",
        ),
        ("tss", _TSS_HEAD + "1,A-B,20.0,2.0,1900.0,1950.0,1.0,,,,,\n", "column 'ccode2', line 2"),
        ("tss", _TSS_HEAD + "1,A-B,2.0,20.0,1950.0,1900.0,,,,,,\n", "column 'end', line 2"),
        ("tss", _TSS_HEAD + "1,A-B,2.0,x,1900.0,1950.0,,,,,,\n", "column 'ccode2', line 2"),
        ("tss", _TSS_HEAD + "1,A,2,20,1900,1950,,,,,,\n1,B,2,30,1900,1950,,,,,,\n", "tssr_id"),
        ("td", _TD_HEAD + "1.0,A-B,2.0,20.0,1900.0,1950.0,X,spatial,greedy,\n", "column 'type2'"),
        ("td", _TD_HEAD + "1.0,A-B,2.0,20.0,1960.0,1950.0,X,spatial,,\n", "column 'endyear'"),
        ("td", "rivalryno,name\n1,x\n", "missing required column"),
    ],
)
def test_bad_rivalry_files(tmp_path: Path, which: str, text: str, needle: str) -> None:
    p = _write(tmp_path / "r.csv", text)
    with pytest.raises(DataError, match=r"r\.csv") as info:
        read_rivalries(which, path=p)  # type: ignore[arg-type]
    assert needle in str(info.value)


def test_unknown_list() -> None:
    with pytest.raises(DataError, match="argument 'list'"):
        read_rivalries("cow")  # type: ignore[arg-type]
