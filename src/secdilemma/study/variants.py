"""Spec variants for model comparison: the same data, one thing changed in each."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from secdilemma.errors import ParameterError
from secdilemma.spec import ModelSpec
from secdilemma.study.setting import SWITCHING_PERSISTENCE, VARIANTS

__all__ = ["spec_variants"]


def spec_variants(spec: ModelSpec, which: Sequence[str] = VARIANTS) -> dict[str, ModelSpec]:
    """``{"full": spec, <variant>: spec, ...}``: one type only (per type), the other observer
    kind (aware <-> naive), switching <-> static types; ``which`` picks among
    :data:`~secdilemma.study.setting.VARIANTS`."""
    bad = [w for w in which if w not in VARIANTS]
    if bad:
        raise ParameterError(f"variants: unknown {bad}; choose from {list(VARIANTS)}.")
    base = spec.to_dict()
    out: dict[str, ModelSpec] = {"full": spec}

    def variant(name: str, change: Any) -> None:
        d = json.loads(json.dumps(base))
        change(d)
        d["meta"]["name"] = name
        out[name] = ModelSpec.from_dict(d, source=f"<{spec.name} variant>")

    if "types" in which:
        for n in spec.types.names:

            def one_type(d: dict[str, Any], n: str = n) -> None:
                d["types"] = {"names": [n]}
                d.setdefault("observer", {}).pop("prior", None)

            variant(f"{n}_only", one_type)
    if "observer" in which:
        kind = "naive" if spec.observer.kind == "aware" else "aware"
        variant(f"{kind}_observer", lambda d: d.setdefault("observer", {}).update(kind=kind))
    if "switching" in which:
        if spec.types.switching:
            variant("static_types", lambda d: d["types"].update(switching=False))
        else:
            sw = {"persistence": SWITCHING_PERSISTENCE}
            variant("switching_types", lambda d: d.setdefault("types", {}).update(switching=sw))
    return out
