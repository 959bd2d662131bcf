#!/usr/bin/env python3
"""Engine benchmark: Crux's compiled matcher against the plain reference interpreter and
zen-engine, on the shared workloads (SPEC speed anchors).

    python bench/engine_bench.py [--names discount,flat-10,...] [--rounds 5] [--entities 1000]

Every entity's result is checked against the workload's `expected` before anything is timed
(Crux with and without trace, and zen's decision tables). Rounds interleave the engines; each
figure is the median over rounds of (time for all entities / number of entities). Ratios use
Crux's match+convert (conversion is part of an evaluation). Results also go to
bench/out/engine.json.
"""
from __future__ import annotations

import argparse
import gc
import importlib.metadata
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchlib import HERE, REPO, workload_generator

sys.path.insert(0, str(REPO))

from crux.engine import compile_family, convert_entity, validate_ruleset, validate_schema  # noqa: E402

gen_workloads = workload_generator()

# (workload, what, minimum ratio): the speed targets of the engine
REF_TARGETS = {"workflow-1000": 100.0, "flat-1000": 20.0, "flat-10": 3.0, "discount": 3.0}
ZEN_WORKLOADS = ("flat-10", "flat-100", "flat-1000", "workflow-10", "workflow-100",
                 "workflow-1000")


# --------------------------------------------------------------------------------------------
# zen-engine: each flat workload as a decision table (hit policy "collect"), each workflow as
# a decision table (hit policy "first"); the engine is built once with a static loader.
# --------------------------------------------------------------------------------------------

def _zen_literal(value) -> str:
    return json.dumps(value)


def _zen_cell(op: str, value) -> str:
    lit = _zen_literal(value)
    return {"eq": lit, "ne": f"!= {lit}", "lt": f"< {lit}", "le": f"<= {lit}",
            "gt": f"> {lit}", "ge": f">= {lit}"}[op]


def zen_document(workload: dict, hit_policy: str) -> dict:
    schema = workload["schema"]
    (ruleset,) = workload["rulesets"]
    attrs = [a["attr"] for a in schema["patternschema"]]
    used = [a for a in attrs if any(t["attr"] == a for r in ruleset["rules"]
                                    for t in r["rulepattern"])]
    props = schema["actionschema"]["properties"]
    inputs = [{"id": f"in_{a}", "name": a, "field": a} for a in used]
    outputs = ([{"id": "out_task", "name": "task", "field": "task"}]
               + [{"id": f"out_{p}", "name": p, "field": p} for p in props])
    rows = []
    for k, rule in enumerate(ruleset["rules"]):
        row = {"_id": f"r{k}"}
        for a in used:
            row[f"in_{a}"] = ""
        for t in rule["rulepattern"]:
            if row[f"in_{t['attr']}"]:
                raise ValueError("two terms on one attribute do not fit a decision table")
            row[f"in_{t['attr']}"] = _zen_cell(t["op"], t["val"])
        tasks = rule["ruleactions"]["tasks"]
        if len(tasks) > 1:
            raise ValueError("a rule with several tasks does not fit this table")
        row["out_task"] = _zen_literal(tasks[0]) if tasks else ""
        for p in props:
            v = rule["ruleactions"]["properties"].get(p)
            row[f"out_{p}"] = _zen_literal(v) if v is not None else ""
        rows.append(row)
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "request",
             "position": {"x": 0, "y": 0}},
            {"id": "table", "type": "decisionTableNode", "name": ruleset["name"],
             "position": {"x": 300, "y": 0},
             "content": {"hitPolicy": hit_policy, "inputs": inputs, "outputs": outputs,
                         "rules": rows}},
            {"id": "response", "type": "outputNode", "name": "response",
             "position": {"x": 600, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "request", "targetId": "table", "type": "edge"},
                  {"id": "e2", "sourceId": "table", "targetId": "response", "type": "edge"}],
    }


def zen_actionset(result, props: list[str]) -> dict:
    """zen's table output as a Crux action set (only to check zen computes the same thing)."""
    rows = result if isinstance(result, list) else ([result] if result else [])
    tasks: list[str] = []
    out: dict[str, str] = {}
    for row in rows:
        t = row.get("task")
        if t and t not in tasks:
            tasks.append(t)
        for p in props:
            if row.get(p) is not None:
                out[p] = row[p]
    return {"tasks": tasks, "properties": out}


class ZenRunner:
    def __init__(self, zen, workload: dict):
        name = workload["name"]
        policy = "first" if name.startswith("workflow") else "collect"
        self.doc = zen_document(workload, policy)
        self.key = f"{name}.json"
        self.engine = zen.ZenEngine({"loader": {"type": "static",
                                                "content": {self.key: self.doc}}})
        self.props = workload["schema"]["actionschema"]["properties"]
        self.path = "engine.evaluate"

    def check(self, workload: dict) -> int:
        bad = 0
        for ent, exp in zip(workload["entities"], workload["expected"], strict=True):
            got = zen_actionset(self.engine.evaluate(self.key, ent)["result"], self.props)
            bad += got != exp
        return bad

    def pick_fastest(self, entities: list) -> dict:
        """Time engine.evaluate and a precompiled decision's evaluate on a sample; keep the
        faster as zen's path for this workload."""
        sample = entities[:200]
        key, engine = self.key, self.engine
        decision = engine.get_decision(key)
        paths = {"engine.evaluate": lambda e: engine.evaluate(key, e),
                 "get_decision().evaluate": decision.evaluate}
        timing = {}
        for label, fn in paths.items():
            for e in sample[:20]:
                fn(e)
            t0 = time.perf_counter()
            for e in sample:
                fn(e)
            timing[label] = (time.perf_counter() - t0) / len(sample) * 1e6
        self.path = min(timing, key=timing.get)
        self.fn = paths[self.path]
        return timing


# --------------------------------------------------------------------------------------------

def build_family(workload: dict):
    schema = workload["schema"]
    brwf = "W" if workload["name"].startswith("workflow") else "B"
    problems = validate_schema(schema, brwf)
    known = {rs["name"]: rs["class"] for rs in workload["rulesets"]}
    calls = {rs["name"]: {c for r in rs["rules"] for c in (r["ruleactions"]["thencall"],
                                                          r["ruleactions"]["elsecall"]) if c}
             for rs in workload["rulesets"]}
    for rs in workload["rulesets"]:
        problems += validate_ruleset(rs["rules"], schema, brwf, rs["name"], rs["class"], known,
                                     calls, path=f"{rs['name']}")
    if problems:
        raise SystemExit(f"{workload['name']}: the workload does not validate: {problems[:3]}")
    t0 = time.perf_counter()
    family = compile_family(schema, {rs["name"]: {"rules": rs["rules"], "is_active": True}
                                     for rs in workload["rulesets"]}, schema["class"], brwf)
    return family, time.perf_counter() - t0


def check_crux(family, workload: dict, traced: int) -> int:
    bad = 0
    entry = workload["entry"]
    for k, (ent, exp) in enumerate(zip(workload["entities"], workload["expected"], strict=True)):
        e = convert_entity(family.schema, ent)
        for trace in (0, 1, 2) if k < traced else (0,):
            r = family.match(entry, e, trace)
            bad += {"tasks": r.tasks, "properties": r.properties} != exp
    return bad


def timed(fn, items) -> float:
    """Microseconds per item for one pass (gc paused, as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.perf_counter_ns()
        fn(items)
        dt = time.perf_counter_ns() - t0
    finally:
        gc.enable()
    return dt / len(items) / 1000.0


def timed_variants(family, wl: dict, runner: ZenRunner | None) -> list[tuple[str, Callable[[list], None], list]]:
    """What is timed for one workload: (label, a function evaluating a list of entities, the list)."""
    entry = wl["entry"]
    raw = wl["entities"]
    conv = [convert_entity(family.schema, e) for e in raw]
    schema = family.schema
    match = family.match
    rulesets = {rs["name"]: rs for rs in wl["rulesets"]}
    ref_schema = wl["schema"]
    reference_match = gen_workloads.reference_match

    def crux_match(items):
        for e in items:
            match(entry, e)

    def crux_full(items):
        for e in items:
            match(entry, convert_entity(schema, e))

    def reference(items):
        for e in items:
            reference_match(ref_schema, rulesets, entry, e)

    variants = [("crux_match", crux_match, conv), ("crux_match_convert", crux_full, raw),
                ("reference", reference, raw)]
    if runner is not None:
        zfn = runner.fn

        def zen_eval(items):
            for e in items:
                zfn(e)
        variants.append(("zen", zen_eval, raw))
    return variants


def run(args) -> dict:
    try:
        import zen
        zen_version = "2.1.3"
        try:
            zen_version = importlib.metadata.version("zen-engine")
        except importlib.metadata.PackageNotFoundError:       # pragma: no cover
            pass
    except ImportError:
        zen = None
        zen_version = None
        print("zen-engine is NOT installed (pip install zen-engine==2.1.3): zen columns and "
              "zen targets are skipped", file=sys.stderr)

    names = args.names.split(",")
    report = {"python": sys.version.split()[0], "machine": platform.machine(),
              "platform": platform.platform(), "zen_engine": zen_version,
              "rounds": args.rounds, "entities": args.entities, "workloads": {}}
    for name in names:
        wl = gen_workloads.build(name, args.entities)
        family, compile_s = build_family(wl)
        bad = check_crux(family, wl, traced=args.traced)
        if bad:
            raise SystemExit(f"{name}: {bad} Crux results differ from expected; not timing")
        runner = None
        zen_paths = None
        if zen is not None and name in ZEN_WORKLOADS:
            runner = ZenRunner(zen, wl)
            zbad = runner.check(wl)
            if zbad:
                raise SystemExit(f"{name}: {zbad} zen results differ from expected; not timing")
            zen_paths = runner.pick_fastest(wl["entities"])

        variants = timed_variants(family, wl, runner)
        samples: dict[str, list[float]] = {v[0]: [] for v in variants}
        for _, fn, items in variants:        # warm-up
            fn(items[:50])
        for _ in range(args.rounds):
            for label, fn, items in variants:
                samples[label].append(timed(fn, items))
        med = {k: statistics.median(v) for k, v in samples.items()}
        res = {"rules": sum(len(rs["rules"]) for rs in wl["rulesets"]),
               "compile_ms": round(compile_s * 1000, 2),
               "index": family.index_stats(),
               "us_per_eval": {k: round(v, 3) for k, v in med.items()},
               "evals_per_s": {k: round(1e6 / v) for k, v in med.items()},
               "samples_us": {k: [round(x, 3) for x in v] for k, v in samples.items()},
               "ratio_vs_reference": round(med["reference"] / med["crux_match_convert"], 2),
               "targets": []}
        if "zen" in med:
            res["zen_path"] = runner.path
            res["zen_paths_probe_us"] = {k: round(v, 2) for k, v in zen_paths.items()}
            res["ratio_vs_zen"] = round(med["zen"] / med["crux_match_convert"], 2)
            res["targets"].append({"target": "faster than zen-engine", "need": 1.0,
                                   "got": res["ratio_vs_zen"],
                                   "pass": res["ratio_vs_zen"] > 1.0})
        elif name in ZEN_WORKLOADS:
            res["targets"].append({"target": "faster than zen-engine", "need": 1.0,
                                   "got": None, "pass": None})
        if name in REF_TARGETS:
            need = REF_TARGETS[name]
            res["targets"].append({"target": f">= {need:g}x reference_match", "need": need,
                                   "got": res["ratio_vs_reference"],
                                   "pass": res["ratio_vs_reference"] >= need})
        report["workloads"][name] = res
        _print_row(name, res)
    return report


_HEADER = (f"{'workload':<14}{'rules':>6} {'crux match':>11} {'+convert':>10} {'evals/s':>9} "
           f"{'reference':>11} {'zen':>9} {'x ref':>8} {'x zen':>6}  targets")


def _print_row(name: str, res: dict):
    us = res["us_per_eval"]
    zen = f"{us['zen']:.2f}" if "zen" in us else "-"
    xzen = f"{res['ratio_vs_zen']:.2f}" if "ratio_vs_zen" in res else "-"
    marks = []
    for t in res["targets"]:
        verdict = "n/a" if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")
        marks.append(f"{t['target']}: {verdict}")
    print(f"{name:<14}{res['rules']:>6} {us['crux_match']:>9.2f}us "
          f"{us['crux_match_convert']:>8.2f}us "
          f"{res['evals_per_s']['crux_match_convert']:>9} {us['reference']:>9.1f}us "
          f"{zen:>7}us {res['ratio_vs_reference']:>7.1f}x {xzen:>5}x  {'; '.join(marks)}",
          flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Crux engine benchmark")
    ap.add_argument("--names", default=",".join(gen_workloads.WORKLOADS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--entities", type=int, default=1000)
    ap.add_argument("--traced", type=int, default=100,
                    help="entities per workload also checked with trace 1 and 2")
    ap.add_argument("--out", default=str(HERE / "out" / "engine.json"))
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {platform.machine()}, {args.entities} entities, "
          f"{args.rounds} interleaved rounds, medians (us per evaluation)")
    print(_HEADER)
    report = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    fails = [(n, t["target"]) for n, r in report["workloads"].items() for t in r["targets"]
             if t["pass"] is False]
    print(f"results: {out}")
    if fails:
        print("FAILED targets: " + "; ".join(f"{n}: {t}" for n, t in fails))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
