"""Shared helpers of the engine tests (no database needed)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from crux.engine import compile_family, normalize_rules

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
REPO = HERE.parents[1]
EXAMPLES = REPO / "examples"


def shared_bench_dir() -> Path:
    import os
    env = os.environ.get("CRUX_SHARED_DIR")
    if env:
        for cand in (Path(env) / "bench", Path(env)):
            if (cand / "gen_workloads.py").exists():
                return cand
    return REPO.parent / "shared" / "bench"


def gen_workloads():
    """The shared workload generator (with reference_match), or None when absent."""
    path = shared_bench_dir()
    if not (path / "gen_workloads.py").exists():
        return None
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    import gen_workloads as gw
    return gw


def load_json(path: Path):
    with open(path) as f:
        return json.load(f)


def family_of(schema: dict, rulesets: dict, cls: str | None = None, brwf: str = "B"):
    """compile_family over {name: {"rules", "class"?}} test data."""
    cls = cls or schema["class"]
    data = {name: {"rules": rs["rules"], "is_active": True, "is_internal": False,
                   **({"class": rs["class"]} if "class" in rs else {})}
            for name, rs in rulesets.items()}
    return compile_family(schema, data, cls, brwf)


def canonical_rulesets(rulesets: dict) -> dict:
    return {name: {**rs, "rules": normalize_rules(rs["rules"])} for name, rs in rulesets.items()}


__all__ = ["CASES", "EXAMPLES", "REPO", "canonical_rulesets", "family_of", "gen_workloads",
           "load_json", "shared_bench_dir"]
