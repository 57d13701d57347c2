"""Declarative model specs: a TOML file, validated in one place, as a frozen dataclass tree.

A spec says which data to fit, which rival types to consider, which signal channels to
read, the priors of every parameter, the offense-defense world (``omega``, ``delta``), the
observer (aware or naive, and its prior over types), the sampler, and the decision losses.
It is plain data: it is parsed with :mod:`tomllib` and never evaluated as code.

Precedence is **user > data-derived > default**: a value written in the spec always wins;
where the spec is silent, :class:`secdilemma.PerceptionModel` derives what it can from
the data (e.g. the scale of the noise prior from the spread of the rival's moves) or from
the pooled reference estimate (``use_reference = true``), and otherwise uses the documented
defaults of :data:`DEFAULT_PRIORS`.

Every problem raises :class:`~secdilemma.errors.SpecError` naming the file, the key as a
dotted path (``priors.beta.log_sd``) and the allowed values, with a suggestion for a
misspelled key.

Example
-------
.. code-block:: toml

    [data]
    case = "anglo_german_naval"
    variable = "naval_expenditure"
    transform = "log_diff"

    [types]
    names = ["greedy", "insecure", "mixed"]

    [signals]
    channels = ["force_posture_law"]
    posture = ["force_posture_law"]   # greed loading x 2*delta; prior: posture_prior

    [priors]
    use_reference = true
    beta = { dist = "lognormal", median = 0.3, log_sd = 0.5 }

    [world]
    omega = { 1898 = 0.7, 1906 = 0.8 }   # by period: each value holds until the next year
    delta = 0.3

    [observer]
    kind = "aware"
    prior = { greedy = 0.4, insecure = 0.3, mixed = 0.3 }

    [sampler]
    backend = "nutpie"
    chains = 4
    draws = 1000

>>> spec = ModelSpec.from_dict({"data": {"case": "us_ussr"}, "world": {"omega": 0.2}})
>>> spec.world.omega, spec.priors.use_reference
(0.2, False)
>>> ModelSpec.from_dict({"prior": {}})
Traceback (most recent call last):
...
secdilemma.errors.SpecError: <dict>: unknown key 'prior'; allowed keys are ...
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
import xarray as xr

from secdilemma._paths import models_dir
from secdilemma._version import __version__
from secdilemma.data import load_case, make_dyad, resolve_country, to_moves
from secdilemma.data.schema import CURATED_CHANNELS, DERIVED_CHANNELS, OVERLAPPING_CHANNELS
from secdilemma.errors import DataError, SpecError
from secdilemma.io import atomic_write
from secdilemma.spec.parse import check_name, parse_spec
from secdilemma.spec.sections import (
    DEFAULT_PRIORS,
    DEFAULT_SEED,
    DEFAULT_SIGNAL_PRIORS,
    DEFAULT_TAU,
    PARAMETERS,
    SECTIONS,
    DataSpec,
    DecisionSpec,
    ObserverSpec,
    PriorSpec,
    PriorsSpec,
    SamplerSpec,
    SignalsSpec,
    TypesSpec,
    WorldSpec,
)

__all__ = [
    "DEFAULT_PRIORS",
    "DEFAULT_SEED",
    "DEFAULT_SIGNAL_PRIORS",
    "DEFAULT_TAU",
    "PARAMETERS",
    "DataSpec",
    "DecisionSpec",
    "ModelSpec",
    "ObserverSpec",
    "PriorSpec",
    "PriorsSpec",
    "SamplerSpec",
    "SignalsSpec",
    "TypesSpec",
    "WorldSpec",
    "load_spec",
    "spec_data",
]

#: Keys of ``[data]`` that :meth:`ModelSpec.for_dyad` takes as arguments.
_DYAD_ARGS = ("observer", "rival", "source", "start", "end", "variable")


@dataclass(frozen=True)
class ModelSpec:
    """A validated model spec (see the module docstring for the format).

    Build it with :func:`load_spec` (from a TOML file), :meth:`from_dict` or
    :meth:`for_dyad`; ``to_dict`` gives plain data that ``from_dict`` reads back to an equal
    spec, ``to_toml``/``save`` the same as a TOML file that :func:`load_spec` reads back.

    Examples
    --------
    >>> import secdilemma as sd
    >>> spec = sd.ModelSpec.from_dict({"data": {"case": "us_ussr"}, "world": {"omega": 0.3}})
    >>> spec.data.case, spec.world.omega, spec.types.names
    ('us_ussr', 0.3, ('greedy', 'insecure', 'mixed'))
    >>> sd.ModelSpec.from_dict(spec.to_dict()) == spec
    True
    >>> spec.replace(world={"omega": 0.6}).world.omega
    0.6
    """

    name: str = "model"
    description: str = ""
    data: DataSpec = field(default_factory=DataSpec)
    types: TypesSpec = field(default_factory=TypesSpec)
    signals: SignalsSpec = field(default_factory=SignalsSpec)
    priors: PriorsSpec = field(default_factory=PriorsSpec)
    world: WorldSpec = field(default_factory=WorldSpec)
    observer: ObserverSpec = field(default_factory=ObserverSpec)
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    decision: DecisionSpec = field(default_factory=DecisionSpec)
    source_path: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name, "ModelSpec: argument 'name'")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, source: str = "<dict>") -> ModelSpec:
        """Validate plain data (a parsed TOML document) into a :class:`ModelSpec`.

        Raises
        ------
        SpecError
            Naming ``source``, the dotted key and the allowed values.
        """
        return cls(**parse_spec(d, source), source_path=None if source.startswith("<") else source)

    @classmethod
    def for_dyad(
        cls,
        observer: int | str,
        rival: int | str,
        *,
        source: str = "nmc",
        start: int | None = None,
        end: int | None = None,
        variable: str = "milex",
        name: str | None = None,
        prices: str = "real",
        **sections: Mapping[str, Any],
    ) -> ModelSpec:
        """A spec for any pair of states, built from the raw tables (:func:`make_dyad`).

        Everything not given takes the documented defaults; in particular the spec reads no
        signal channels unless ``signals={"channels": [...]}`` is given (and
        :func:`spec_data` refuses channels on which the dyad records no events).

        Parameters
        ----------
        observer, rival
            COW code, COW abbreviation or name of each state; stored as the COW abbreviation.
        source, start, end, variable, prices
            As ``data.source``, ``data.start``, ``data.end``, ``data.variable`` and
            ``data.prices`` (``"real"``: deflated, the default; ``"nominal"``; ``"relative"``:
            shares of the system's total, :func:`~secdilemma.data.make_dyad`). Without
            ``start``/``end`` the window is every year both states appear in, less any
            first or last years in which a state's series is 0 (log changes cannot read
            them; NMC has Pakistan's 1947 as 0), with a note in the data's
            ``attrs["notes"]``.
        name
            ``meta.name``; default ``"<observer>-<rival>"`` in COW abbreviations (``"IND-PAK"``).
        **sections
            Other sections as mappings (``world={"omega": 0.3}``, ``signals=...``,
            ``meta={"description": ...}``); ``data`` may add ``transform`` only.

        Raises
        ------
        SpecError
            An unknown state, section or key, or any value the spec format refuses.

        Examples
        --------
        >>> spec = ModelSpec.for_dyad("India", "Pakistan", start=1950, end=2016)
        >>> spec.name, spec.data.observer, spec.data.rival, spec.signals.channels
        ('IND-PAK', 'IND', 'PAK', ())
        """
        where = "ModelSpec.for_dyad"
        try:
            obs = resolve_country(observer, argument="observer")
            riv = resolve_country(rival, argument="rival")
        except DataError as exc:
            raise SpecError(f"{where}: {exc}") from None
        unknown = [k for k in sections if k not in SECTIONS]
        if unknown:
            raise SpecError(f"{where}: unknown section {unknown[0]!r}; sections are {SECTIONS}.")
        extra = dict(sections.get("data", {}))
        clash = [k for k in extra if k != "transform"]
        if clash:
            raise SpecError(
                f"{where}: data key {clash[0]!r}: give observer, rival, source, start, end and "
                "variable as arguments; data= may only add 'transform'."
            )
        data: dict[str, Any] = {
            "observer": obs.abb,
            "rival": riv.abb,
            "source": source,
            "prices": prices,
            "variable": variable,
            **extra,
        }
        data.update({k: v for k, v in (("start", start), ("end", end)) if v is not None})
        meta = {"name": f"{obs.abb}-{riv.abb}", **dict(sections.get("meta", {}))}
        if name is not None:
            meta["name"] = name
        doc = {k: dict(v) for k, v in sections.items()}
        doc.update(meta=meta, data=data)
        return cls.from_dict(doc, source=f"<{where}>")

    # -- plain data and TOML ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data that :meth:`from_dict` reads back to an equal spec."""
        return {
            "meta": {"name": self.name, "description": self.description},
            "data": self.data.to_dict(),
            "types": self.types.to_dict(),
            "signals": self.signals.to_dict(),
            "priors": self.priors.to_dict(),
            "world": self.world.to_dict(),
            "observer": self.observer.to_dict(),
            "sampler": self.sampler.to_dict(),
            "decision": self.decision.to_dict(),
        }

    def to_toml(self) -> str:
        """The spec as TOML text that :func:`load_spec` reads back to an equal spec.

        Every value is written out, defaults included, so the file records the whole
        model even if a later version changes a default. By-period world values are keyed by
        the year as a string (TOML keys are strings); the parser reads them back as years.

        Examples
        --------
        >>> spec = ModelSpec.from_dict({"world": {"omega": {"1898": 0.7, "1906": 0.8}}})
        >>> ModelSpec.from_dict(tomllib.loads(spec.to_toml())) == spec
        True
        """
        header = (
            f"# Model spec {self.name!r}, written by secdilemma {__version__} "
            "(ModelSpec.to_toml).\n# Read it back with secdilemma.load_spec(path).\n\n"
        )
        return header + tomli_w.dumps(self.to_dict())

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write :meth:`to_toml` to ``path`` atomically; returns the path.

        Raises
        ------
        OutputExistsError
            ``path`` exists and ``overwrite`` is false.
        """
        text = self.to_toml()

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        return atomic_write(path, write, overwrite=overwrite)

    def replace(self, **sections: Any) -> ModelSpec:
        """A copy with whole sections or fields replaced, validated again via plain data.

        Each keyword is a section name with a mapping merged over that section, e.g.
        ``spec.replace(observer={"kind": "naive"})``.
        """
        d = self.to_dict()
        for k, v in sections.items():
            if k not in SECTIONS:
                raise SpecError(f"ModelSpec.replace: unknown section {k!r}; sections {SECTIONS}.")
            d[k] = {**d.get(k, {}), **dict(v)}
        return ModelSpec.from_dict(d, source=self.source_path or "<dict>")


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------
def _read_text(p: Path) -> str:
    raw = p.read_bytes()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{p}: not UTF-8 text: byte offset {exc.start} (0x{raw[exc.start]:02x}) cannot be "
            f"decoded ({exc.reason}). A spec must be UTF-8; save it again as UTF-8."
        ) from None


def load_spec(path: str | os.PathLike[str]) -> ModelSpec:
    """Read and validate a TOML model spec (UTF-8).

    A bare case name (``"us_ussr"``) is looked up in the bundled ``models/`` folder.

    Raises
    ------
    SpecError
        No such file, a file that is not UTF-8 (naming the byte offset), not valid TOML, or
        any value the spec format refuses.

    Examples
    --------
    >>> spec = load_spec("anglo_german_naval")
    >>> spec.data.case, spec.priors.use_reference
    ('anglo_german_naval', True)
    """
    p = Path(path)
    if not p.exists() and p.suffix == "" and len(p.parts) == 1:
        p = models_dir() / f"{p.name}.toml"
    if not p.is_file():
        raise SpecError(f"{p}: no such spec file; give the path to a .toml model spec.")
    try:
        doc = tomllib.loads(_read_text(p))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{p}: not valid TOML ({exc}).") from None
    return ModelSpec.from_dict(doc, source=str(p))


def _load_data(d: DataSpec) -> xr.Dataset:
    """The dyad Dataset of a data section (raises DataError)."""
    if d.case is not None:
        ds = load_case(d.case, observer=d.case_observer)
        if d.start is not None or d.end is not None:
            ds = ds.sel(period=slice(d.start, d.end))
            if ds.sizes["period"] < 3:
                raise DataError(
                    f"data.start/data.end leave {ds.sizes['period']} periods of case "
                    f"{d.case!r}; keep at least 3."
                )
        return ds
    assert d.observer is not None
    assert d.rival is not None
    ds = make_dyad(
        d.observer,
        d.rival,
        source=d.source or "nmc",  # type: ignore[arg-type]
        prices=d.prices or "real",  # type: ignore[arg-type]
        start=d.start,
        end=d.end,
    )
    return _trim_zero_ends(ds, d)


def _trim_zero_ends(ds: xr.Dataset, d: DataSpec) -> xr.Dataset:
    """A dyad's default window without its first (or last) years where a state's series is 0
    (NMC records 0 in some states' first year: Pakistan in 1947), which log or percentage
    changes cannot read; ``attrs["notes"]`` says which years went. Only an end the spec
    leaves open moves: a year the user chose stays, and :func:`~secdilemma.data.to_moves`
    names it. A series that is 0 almost throughout (a state without forces) is left for it
    to refuse too."""
    if d.transform not in ("log_diff", "pct") or d.variable not in ds.data_vars:
        return ds
    periods = [int(p) for p in ds["period"].values]
    with np.errstate(invalid="ignore"):
        zero = np.any(ds[d.variable].transpose("period", ...).values <= 0, axis=1)
    i, j = 0, len(periods)
    while d.start is None and i < j and zero[i]:
        i += 1
    while d.end is None and j > i and zero[j - 1]:
        j -= 1
    if (i, j) == (0, len(periods)) or j - i < 3:
        return ds
    gone = [str(y) for y in periods[:i] + periods[j:]]
    note = (
        f"default window {periods[i]}-{periods[j - 1]}: {d.variable} is 0 for a state in "
        f"{', '.join(gone)}, which the transform {d.transform!r} cannot read"
    )
    out = ds.isel(period=slice(i, j))
    out.attrs["notes"] = "; ".join(n for n in (ds.attrs.get("notes", ""), note) if n)
    return out


def _check_channels(spec: ModelSpec, ds: xr.Dataset, where: str, dyad: bool) -> None:
    """Refuse channels that would count one event twice or claim evidence that is not there.

    - A curated channel and a derived channel that can record the same real event
      (:data:`~secdilemma.data.schema.OVERLAPPING_CHANNELS`) are not read together.
    - On a dyad built from the raw tables, a curated (hand-sourced) channel has events only
      where a bundled case covers exactly its two states; elsewhere its zeros are not
      observations. Derived channels (MID, ATOP) exist for every pair, missing (NaN) outside
      their sources' coverage; one that is missing in every year of the window is refused.
    """
    chosen = set(spec.signals.channels)
    for curated, derived in OVERLAPPING_CHANNELS.items():
        both = [d for d in derived if d in chosen]
        if curated in chosen and both:
            raise SpecError(
                f"{where}: key 'signals.channels': {curated!r} and {both} can record the same "
                "event (one from the hand-sourced list, one from the public tables); read one "
                "side only."
            )
    if not dyad:
        return
    recorded = set(ds["event_channel"].values.tolist()) if "event_channel" in ds else set()
    pair = "-".join(str(c) for c in ds["actor_code"].values.tolist())
    missing = [c for c in chosen if c in CURATED_CHANNELS and c not in recorded]
    if missing:
        raise SpecError(
            f"{where}: key 'signals.channels': the dyad {pair} records no hand-sourced events on "
            f"{sorted(missing)} (a dyad from the raw tables has them only where a bundled case "
            "covers exactly its two states), so its zeros there are not observations. Use the "
            f"channels derived from the public tables for every pair: {list(DERIVED_CHANNELS)}."
        )
    rival = ds["signals"].sel(actor="rival")
    empty = [
        c for c in chosen if c in DERIVED_CHANNELS and bool(rival.sel(signal=c).isnull().all())
    ]
    if empty:
        raise SpecError(
            f"{where}: key 'signals.channels': {sorted(empty)} are missing in every year of "
            f"{pair}'s window (MID covers 1816-2010, ATOP 1816-2018, and only years when both "
            "states are in the state system); drop them or choose other years."
        )


def spec_data(spec: ModelSpec) -> tuple[xr.Dataset, xr.Dataset]:
    """The data a spec describes: ``(case_ds, moves)``.

    ``case_ds`` is the dyad Dataset (:func:`~secdilemma.data.load_case` or
    :func:`~secdilemma.data.make_dyad`), ``moves`` the per-period moves
    (:func:`~secdilemma.data.to_moves`) with the rival's signals on the spec's channels
    added as ``signals`` (period, signal) in {0, 1}, NaN where the source does not cover the
    year.

    Raises
    ------
    SpecError
        When the spec names no data, the data layer refuses them (the message says which
        key to change), or a dyad from the raw tables records no events on a channel the spec
        reads.
    """
    d = spec.data
    where = spec.source_path or f"<spec {spec.name}>"
    if d.is_empty:
        raise SpecError(
            f"{where}: key 'data': no data named; give data.case or data.observer/rival, or pass "
            "the data to PerceptionModel(spec, data=...)."
        )
    try:
        ds = _load_data(d)
        moves = to_moves(ds, variable=d.variable, transform=d.transform)  # type: ignore[arg-type]
    except DataError as exc:
        raise SpecError(f"{where}: key 'data': {exc}") from None
    if spec.signals.channels:
        if "signals" not in ds:
            raise SpecError(f"{where}: key 'signals.channels': these data carry no signals.")
        _check_channels(spec, ds, where, dyad=d.is_dyad)
        sig = ds["signals"].sel(actor="rival", signal=list(spec.signals.channels))
        # an event or not (counts above 1 are one signal); a missing year stays missing
        moves["signals"] = xr.where(sig.isnull(), np.nan, (sig > 0).astype(float)).transpose(
            "period", "signal"
        )
    return ds, moves
