"""Events files and the signal channel vocabulary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from secdilemma.data.cases import CASES
from secdilemma.data.events import SIGNAL_CHANNELS, event_variables, read_events, role_of
from secdilemma.data.schema import CURATED_CHANNELS, DERIVED_CHANNELS, OVERLAPPING_CHANNELS
from secdilemma.errors import DataError


def test_vocabulary_fixed() -> None:
    assert CURATED_CHANNELS == (
        "arms_control_signed",
        "arms_control_refused",
        "arms_control_withdrawn",
        "unilateral_restraint",
        "alliance_expansion",
        "use_of_force",
        "force_posture_law",
        "crisis_initiation",
    )
    assert DERIVED_CHANNELS == (
        "mid_threat_display",
        "mid_use_of_force",
        "mid_force_in_reply",
        "alliance_new_defense_pact",
    )
    assert SIGNAL_CHANNELS == CURATED_CHANNELS + DERIVED_CHANNELS
    assert set(OVERLAPPING_CHANNELS) <= set(CURATED_CHANNELS)
    assert {d for ds in OVERLAPPING_CHANNELS.values() for d in ds} <= set(DERIVED_CHANNELS)


def test_events_file_refuses_derived_channel(tmp_path: Path) -> None:
    p = tmp_path / "events.csv"
    p.write_text(
        "date,year,actor,role,channel,label,source\n"
        "1962-10,1962,USA,observer,mid_threat_display,x,https://example.org\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"line 2.*not a curated signal channel"):
        read_events(p)


@pytest.mark.parametrize("name", list(CASES))
def test_events_files_valid(cases: Path, name: str) -> None:
    ev = read_events(cases / name / "events.csv")
    assert list(ev.columns[:7]) == ["date", "year", "actor", "role", "channel", "label", "source"]
    assert ev["source"].str.startswith("http").all()
    assert not ev.duplicated(["date", "actor", "channel", "label"]).any()


def test_role_of() -> None:
    assert role_of("USA;RUS", observer={"USA"}, rival={"RUS"}) == "both"
    assert role_of("RUS", observer={"USA"}, rival={"RUS"}) == "rival"
    assert role_of("CHN", observer={"USA"}, rival={"RUS"}) is None
    assert role_of("", observer={"USA"}, rival={"RUS"}) is None


def test_read_events_errors(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    head = "date,year,actor,role,channel,label,source\n"
    p.write_text(head + "1987-12-08,1988,USA,observer,arms_control_signed,x,https://a\n")
    with pytest.raises(DataError, match="column 'year', line 2: year 1988 does not match"):
        read_events(p)
    p.write_text(head + "1987,1987,USA,ally,arms_control_signed,x,https://a\n")
    with pytest.raises(DataError, match="column 'role', line 2"):
        read_events(p)
    p.write_text(head + "1987,1987,USA,observer,summit,x,https://a\n")
    with pytest.raises(DataError, match="column 'channel', line 2"):
        read_events(p)


def test_event_variables_empty() -> None:
    empty = pd.DataFrame(columns=["date", "year", "actor", "role", "channel", "label", "source"])
    out = event_variables(empty, [2000, 2001])
    assert out.sizes["event"] == 0
    assert out["signals"].shape == (2, 2, 8)
