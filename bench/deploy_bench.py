#!/usr/bin/env python3
"""The production layout's cost per call, on deploy/rig: throughput and CPU milliseconds per call
of breapplyrules and markdone through nginx with 1, 2 and 3 web hosts, with the web hosts
reaching PostgreSQL through PgBouncer and directly, in one run.

    sudo .venv/bin/python bench/deploy_bench.py [--rig-id 0] [--seconds 10] [--warmup 2]
                                                [--clients 8] [--rounds 1] [--down]

For each database path (PgBouncer in transaction mode with CRUX_DB_PREPARE=off, then direct
connections with prepared statements on) and each client path (straight to web1 without nginx,
then nginx in front of 1, 2 and 3 web hosts), --clients closed-loop generator processes run
each call for --warmup + --seconds: `breapplyrules` on the shared `discount` workload (1,000
entities, answers checked against the workload's expected ones first), and `markdone` walking
instances of the shared `workflow-10` (a `wfinstancenew` per ten `wfinstancemarkdone`, counted
as calls too). CPU seconds of each part of the layout are read from /proc before and after the
measured seconds, per call: nginx, the web hosts (every process in their namespaces), PgBouncer,
the primary's PostgreSQL (all its processes: backends, WAL writer, WAL sender, checkpointer), the
standby's (WAL receiver and replay, the price of synchronous replication) and the generator.
Results go to bench/out/deploy.json; the report ends with the layout's overhead per call.

The rig (`deploy/rig --id N up`) is brought up if it is not; --down takes it down at the end.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from benchlib import HERE, REPO, Client, cpu_seconds, percentile_ms, workload_generator

sys.path.insert(0, str(REPO))
RIG = REPO / "deploy" / "rig"
RULES_APP, FLOW_APP = "shop", "flows"
PARTS = ("nginx", "web", "pgbouncer", "primary", "standby", "generator")


# ---- the rig -----------------------------------------------------------------------------------

def rig(rig_id: int, *args) -> str:
    proc = subprocess.run([sys.executable, str(RIG), "--id", str(rig_id), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"deploy/rig {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def status(rig_id: int) -> dict:
    return json.loads(rig(rig_id, "status", "--json"))


def namespace_pids(rig_id: int, host: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", f"cxr{rig_id}-{host}"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def part_processes(rig_id: int, st: dict) -> dict[str, list]:
    """psutil processes of each part of the layout."""
    import psutil

    def procs(pids, name=None):
        out = []
        for pid in pids:
            try:
                p = psutil.Process(pid)
                if name is None or p.name() == name:
                    out.append(p)
            except psutil.Error:
                pass
        return out

    master = int(Path(st["dir"], "nginx", "nginx.pid").read_text())
    nginx = [psutil.Process(master), *psutil.Process(master).children()]
    dbs = [h for h in st["hosts"] if h.startswith("db")]
    standby = [h for h in dbs if st["hosts"][h]["role"] == "standby"]
    return {
        "nginx": nginx,
        "web": [p for h in st["hosts"] if h.startswith("web") for p in procs(namespace_pids(rig_id, h))],
        "pgbouncer": [p for h in dbs for p in procs(namespace_pids(rig_id, h), "pgbouncer")],
        "primary": procs(namespace_pids(rig_id, st["primary"]), "postgres"),
        "standby": [p for h in standby for p in procs(namespace_pids(rig_id, h), "postgres")],
    }


def part_cpu(processes: dict[str, list]) -> dict[str, float]:
    return {part: cpu_seconds(procs) for part, procs in processes.items()}


# ---- set-up ------------------------------------------------------------------------------------

def set_up(st: dict, workloads: dict) -> str:
    """A realm with the discount rules (app shop) and the workflow-10 workflow (app flows),
    defined through nginx; returns a token of its admin."""
    from crux.common import log
    from crux.common.config import Settings
    from crux.services.admin import create_realm
    from crux.services.tokens import TokenVerifier
    from crux.store.db import opened

    log.set_level("warn")
    realm = f"bench{uuid.uuid4().hex[:8]}"
    with opened(Settings(pool_min=1, pool_max=1), st["direct_url"]) as db:
        create_realm(db, realm, "deployment benchmark", "admin")
    token = TokenVerifier(Settings(jwt_secret=st["jwt_secret"])).mint(realm, "admin", 24 * 3600)
    client = Client(nginx_port(st), token)

    def ok(call, payload):
        code, body = client.post(f"/api/v1/{call}", {"data": payload})
        if code != 200:
            raise SystemExit(f"{call}: {code} {body}")
        return body["data"]

    for app, name, kind in ((RULES_APP, "discount", "bre"), (FLOW_APP, "workflow-10", "wf")):
        workload = workloads[name]
        schema = workload["schema"]
        key = {"slice": 1, "app": app, "class": schema["class"]}
        ok("appnew", {"name": app, "descr": name})
        ok(f"{kind}schemanew", {**key, "patternschema": schema["patternschema"],
                                "actionschema": schema["actionschema"]})
        pending = {rs["name"]: rs for rs in workload["rulesets"]}
        while pending:  # callees first: a ruleset's calls must exist when it is created
            for rs in [rs for rs in pending.values() if not {
                    c for r in rs["rules"] for c in (r["ruleactions"].get("thencall"), r["ruleactions"].get("elsecall"))
                    if c and c in pending and c != rs["name"]}]:
                if kind == "bre":
                    ok("brerulesetnew", {**key, "name": rs["name"], "ruleset": rs["rules"]})
                else:
                    ok("workflownew", {**key, "name": rs["name"], "flowrules": rs["rules"]})
                del pending[rs["name"]]
        ok("brerulesetactivate" if kind == "bre" else "workflowactivate", {**key, "name": workload["entry"]})
    rules = workloads["discount"]
    for entity, expected in list(zip(rules["entities"], rules["expected"], strict=True))[:50]:
        got = ok("breapplyrules", {"slice": 1, "app": RULES_APP, "ruleset": rules["entry"], "entity": entity})
        if got != expected:
            raise SystemExit(f"wrong answer through the layout for {entity}: {got} (expected {expected})")
    client.close()
    return token


def nginx_port(st: dict) -> int:
    return int(st["nginx"]["url"].rsplit(":", 1)[1])


# ---- load --------------------------------------------------------------------------------------

def _client(index, host, port, token, call, workloads, start, warm, stop, ready, go, out):
    client = Client(port, token, host=host)
    ready.put(index)
    go.wait()
    latencies, calls, errors, first_error = [], 0, 0, None

    def post(path, payload):
        nonlocal calls, errors, first_error
        began = time.perf_counter()
        code, body = client.post(path, {"data": payload})
        end = time.perf_counter()
        if warm.value <= began and end <= stop.value:
            calls += 1
            latencies.append(end - began)
        if code != 200:
            errors += 1
            first_error = first_error or body
            return None
        return body["data"]

    while time.perf_counter() < start.value:
        time.sleep(0.001)
    n = 0
    if call == "breapplyrules":
        rules = workloads["discount"]
        while time.perf_counter() < stop.value:
            n += 1
            post("/api/v1/breapplyrules", {"slice": 1, "app": RULES_APP, "ruleset": rules["entry"],
                                           "entity": rules["entities"][(index * 97 + n) % len(rules["entities"])]})
    else:
        steps = [f"s{i}" for i in range(1, 11)]
        while time.perf_counter() < stop.value:
            n += 1
            entity = {"amount": 10.0 + n % 1000}
            started = post("/api/v1/wfinstancenew", {"slice": 1, "app": FLOW_APP, "workflow": "wf10",
                                                     "entityid": f"{index}-{n}-{uuid.uuid4().hex[:6]}",
                                                     "entity": entity})
            if started is None:
                continue
            row_id = started["tasks"][0]["s1"]
            for step in steps:
                if time.perf_counter() >= stop.value or post("/api/v1/wfinstancemarkdone", {
                        "id": row_id, "step": step, "entity": entity}) is None:
                    break
    out.put({"latencies": latencies, "calls": calls, "errors": errors, "first_error": first_error,
             "cpu": time.process_time()})
    client.close()


def measure(rig_id: int, st: dict, host: str, port: int, token: str, call: str, workloads: dict,
            args) -> dict:
    """One load of `call` at host:port; throughput, latency and CPU per call of every part."""
    ctx = mp.get_context("fork")
    start, warm, stop = ctx.Value("d", 0.0), ctx.Value("d", 0.0), ctx.Value("d", 0.0)
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(i, host, port, token, call, workloads, start, warm, stop,
                                               ready, go, out)) for i in range(args.clients)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=60)
    now = time.perf_counter()
    start.value, warm.value = now + 0.2, now + 0.2 + args.warmup
    stop.value = warm.value + args.seconds
    go.set()
    parts = part_processes(rig_id, st)
    time.sleep(max(0.0, warm.value - time.perf_counter()))
    cpu_before = part_cpu(parts)
    time.sleep(max(0.0, stop.value - time.perf_counter()))
    cpu_after = part_cpu(parts)
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    calls = sum(r["calls"] for r in results)
    errors = sum(r["errors"] for r in results)
    if errors:
        first = next(r["first_error"] for r in results if r["errors"])
        raise SystemExit(f"{call}: {errors} calls failed, the first: {first}")
    latencies = sorted(x for r in results for x in r["latencies"])
    cpu_ms = {part: 1000 * (cpu_after[part] - cpu_before[part]) / max(calls, 1) for part in cpu_before}
    # the generator's CPU is counted over its whole run: scale it to the measured share
    cpu_ms["generator"] = 1000 * sum(r["cpu"] for r in results) * args.seconds / (
        args.warmup + args.seconds + 0.2) / max(calls, 1)
    return {"calls_per_s": calls / args.seconds, "p50_ms": percentile_ms(latencies, 50),
            "p99_ms": percentile_ms(latencies, 99), "calls": calls, "cpu_ms": cpu_ms}


# ---- the run -----------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rig-id", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds before each measurement")
    ap.add_argument("--clients", type=int, default=8, help="closed-loop generator processes")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of the whole matrix (medians reported)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers per web host (when the rig is made)")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker (when the rig is made)")
    ap.add_argument("--down", action="store_true", help="take the rig down at the end")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("deploy/rig needs root: run this as root")

    gen = workload_generator()
    workloads = {name: gen.build(name, 1000) for name in ("discount", "workflow-10")}
    rig(args.rig_id, "up", "--workers", str(args.workers), "--threads", str(args.threads))
    st = status(args.rig_id)
    token = set_up(st, workloads)
    print(f"rig {args.rig_id}: {st['workers']} workers x {st['threads']} threads per web host; "
          f"{args.clients} clients, {args.seconds:g} s per load after {args.warmup:g} s warm-up\n")

    paths = [("web1 direct", 1), ("nginx, 1 host", 1), ("nginx, 2 hosts", 2), ("nginx, 3 hosts", 3)]
    samples: dict[tuple, list[dict]] = {}
    for round_no in range(args.rounds):
        for mode in ("pgbouncer", "direct"):
            for path, count in paths:
                rig(args.rig_id, "web", "--db", mode, "--count", str(count))
                st = status(args.rig_id)
                if path == "web1 direct":
                    host, port = st["hosts"]["web1"]["addr"], int(st["hosts"]["web1"]["url"].rsplit(":", 1)[1])
                else:
                    host, port = "127.0.0.1", nginx_port(st)
                for call in ("breapplyrules", "markdone"):
                    result = measure(args.rig_id, st, host, port, token, call, workloads, args)
                    samples.setdefault((mode, path, call), []).append(result)
                    print(f"round {round_no + 1}  {mode:<9}  {path:<15} {call:<13} {line(result)}", flush=True)
    rig(args.rig_id, "web", "--db", "pgbouncer", "--count", "3")

    table = {key: median_result(results) for key, results in samples.items()}
    print("\nmedians:")
    print(f"{'database':<9}  {'clients reach':<15} {'call':<13} {'calls/s':>8} {'p50 ms':>7} {'p99 ms':>7}   "
          + "  ".join(f"{p:>9}" for p in PARTS) + "   (CPU ms per call)")
    for (mode, path, call), r in table.items():
        print(f"{mode:<9}  {path:<15} {call:<13} {line(r)}")
    summary = overheads(table)
    print("\n" + "\n".join(summary["lines"]))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "deploy.json").write_text(json.dumps({
        "args": vars(args), "workers": st["workers"], "threads": st["threads"],
        "samples": [{"database": m, "path": p, "call": c, "rounds": rs} for (m, p, c), rs in samples.items()],
        "medians": [{"database": m, "path": p, "call": c, **r} for (m, p, c), r in table.items()],
        "overheads": summary["figures"]}, indent=2))
    if args.down:
        rig(args.rig_id, "down")
    return 0


def line(r: dict) -> str:
    return (f"{r['calls_per_s']:8.0f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f}   "
            + "  ".join(f"{r['cpu_ms'][p]:9.3f}" for p in PARTS))


def median_result(results: list[dict]) -> dict:
    """The round with the median throughput."""
    return sorted(results, key=lambda r: r["calls_per_s"])[len(results) // 2]


def overheads(table: dict) -> dict:
    """What nginx and PgBouncer cost per call, and what more web hosts change, from the medians."""
    figures, lines = {}, ["layout overhead per call:"]
    for call in ("breapplyrules", "markdone"):
        direct_web = table[("pgbouncer", "web1 direct", call)]
        one = table[("pgbouncer", "nginx, 1 host", call)]
        nginx_ms = statistics.median(table[(m, p, call)]["cpu_ms"]["nginx"] for m in ("pgbouncer", "direct")
                                     for p in ("nginx, 1 host", "nginx, 2 hosts", "nginx, 3 hosts"))
        bouncer_ms = statistics.median(table[("pgbouncer", p, call)]["cpu_ms"]["pgbouncer"]
                                       for p in ("web1 direct", "nginx, 1 host", "nginx, 2 hosts", "nginx, 3 hosts"))
        total = lambda r: sum(r["cpu_ms"][p] for p in PARTS if p != "generator")  # noqa: E731
        via_direct = table[("direct", "nginx, 1 host", call)]
        figures[call] = {
            "nginx_cpu_ms": nginx_ms, "pgbouncer_cpu_ms": bouncer_ms,
            "nginx_throughput_ratio": one["calls_per_s"] / direct_web["calls_per_s"],
            "pgbouncer_throughput_ratio": one["calls_per_s"] / via_direct["calls_per_s"],
            "database_cpu_ms_pgbouncer": one["cpu_ms"]["primary"],
            "database_cpu_ms_direct": via_direct["cpu_ms"]["primary"],
            "layout_cpu_ms_pgbouncer": total(one), "layout_cpu_ms_direct": total(via_direct),
            "hosts_3_over_1": table[("pgbouncer", "nginx, 3 hosts", call)]["calls_per_s"] / one["calls_per_s"],
        }
        f = figures[call]
        lines += [
            f"  {call}: nginx {f['nginx_cpu_ms']:.3f} ms CPU per call; throughput through nginx / straight to "
            f"web1: {f['nginx_throughput_ratio']:.2f}x",
            f"  {call}: PgBouncer {f['pgbouncer_cpu_ms']:.3f} ms CPU per call; "
            f"PostgreSQL {f['database_cpu_ms_pgbouncer']:.3f} ms behind PgBouncer (prepared statements off) "
            f"vs {f['database_cpu_ms_direct']:.3f} ms direct; "
            f"throughput PgBouncer / direct: {f['pgbouncer_throughput_ratio']:.2f}x",
            f"  {call}: whole layout {f['layout_cpu_ms_pgbouncer']:.3f} ms CPU per call with PgBouncer, "
            f"{f['layout_cpu_ms_direct']:.3f} ms direct; 3 web hosts / 1: {f['hosts_3_over_1']:.2f}x "
            "(one machine: more hosts add no cores)"]
    return {"figures": figures, "lines": lines}


if __name__ == "__main__":
    sys.exit(main())
