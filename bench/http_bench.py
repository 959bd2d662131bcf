#!/usr/bin/env python3
"""HTTP benchmark of `breapplyrules` next to a minimal Flask JSON echo endpoint, in one run.

    python bench/http_bench.py [--workers 2] [--threads 4] [--connections 16] [--seconds 10]
                               [--rounds 2] [--generator auto|wrk|python] [--entities 1000]

Both servers are gunicorn with the same configuration (gthread workers, --workers, --threads):
one serves Crux (`crux.create_app()`), the other a ten-line Flask app whose `/echo` parses the
JSON body and returns it in an envelope. The rules are the shared `discount` workload
(../shared/bench/gen_workloads.py, or $CRUX_SHARED_DIR): its schema and five rulesets are
loaded into a fresh realm through Crux's own services and activated; each request evaluates the
next of its entities (the echo gets the same bodies). Before timing, the answers for the first
entities are checked against the workload's expected action sets.

The load generator runs in other processes: `wrk` (with a Lua script cycling through the
bodies) when installed, else Python processes of threads on keep-alive `http.client`
connections. Rounds alternate echo and breapplyrules; the report gives requests/s, p50 and p99
per round, the median ratio breapplyrules/echo, and PASS or FAIL against the target ratio
(>= 0.6). Results also go to bench/out/http.json.

The database is $CRUX_BENCH_DATABASE_URL (a fresh realm is made in it), else a fresh database
on the local server postgresql://postgres@127.0.0.1:5432, dropped at the end.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import HERE, REPO, Client, Server, create_database, drop_database, percentile_ms, workload_generator

sys.path.insert(0, str(REPO))
TARGET = 0.6
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
APP, CLASS = "shop", "purchase"


def echo_app():
    """The reference: a minimal Flask JSON echo (gunicorn entry point `http_bench:echo_app()`)."""
    from flask import Flask, jsonify, request
    app = Flask("echo")

    @app.post("/echo")
    def echo():
        return jsonify({"status": "success", "data": request.get_json()["data"], "messages": None})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "up"})

    return app


# ---- set-up ------------------------------------------------------------------------------------

def load_rules(url: str, secret: str, workload: dict) -> str:
    """A fresh realm holding the workload's rules, active; returns a token for it."""
    from crux.common import log
    from crux.common.config import Settings
    from crux.services import admin
    from crux.services.principal import Grant, Identity
    from crux.services.rules import BRE, RuleService
    from crux.services.tokens import TokenVerifier
    from crux.store.db import Database
    from crux.store.migrate import upgrade

    settings = Settings(jwt_secret=secret, database_url=url, log_level="warn")
    log.set_level("warn")
    upgrade(url, settings.schema_dir)
    realm = f"bench{uuid.uuid4().hex[:8]}"
    db = Database(settings, url)
    db.pool.open(wait=True)
    try:
        admin.create_realm(db, realm, "HTTP benchmark", "admin")
        ident = Identity(realm, "admin", (Grant(None, "root", None, None),))
        admin.app_new(db, ident, {"name": APP, "descr": "discount workload"})
        rules = RuleService(db)
        schema = workload["schema"]
        rules.schema_new(ident, BRE, {"slice": 1, "app": APP, "class": CLASS, "patternschema": schema["patternschema"],
                                      "actionschema": schema["actionschema"]})
        pending = {rs["name"]: rs for rs in workload["rulesets"]}
        while pending:          # callees first: a ruleset's calls must exist when it is created
            ready = [rs for rs in pending.values()
                     if not {c for r in rs["rules"]
                             for c in (r["ruleactions"]["thencall"], r["ruleactions"]["elsecall"])
                             if c and c in pending and c != rs["name"]}]
            for rs in ready:
                rules.ruleset_new(ident, BRE, {"slice": 1, "app": APP, "class": CLASS, "name": rs["name"],
                                               "ruleset": rs["rules"]})
                del pending[rs["name"]]
        rules.ruleset_activate(ident, BRE, {"slice": 1, "app": APP, "class": CLASS, "name": workload["entry"]})
    finally:
        db.close()
    return TokenVerifier(settings).mint(realm, "bench", 24 * 3600)


def serve(target: str, args, env: dict, work: Path) -> Server:
    """gunicorn serving `target`, with the configuration shared by both servers."""
    return Server(target, workers=args.workers, threads=args.threads, env=env, options=("--timeout", "60"),
                  log=work / f"{target.split(':')[0]}.log")


# ---- load generators ---------------------------------------------------------------------------

def _python_worker(port: int, path: str, headers: dict, bodies: list[bytes], offset: int, start: float,
                   warm: float, stop: float, threads: int, out) -> None:
    # http.client, not benchlib's lighter Client: the generator's CPU competes with the servers',
    # so a cheaper generator would raise both throughputs and shift their ratio (runs would no
    # longer compare with the recorded ones).
    import http.client
    import threading
    results = []

    def run(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        lat, errors, i = [], 0, offset + k * 7919
        while time.perf_counter() < start:
            time.sleep(0.001)
        while True:
            t0 = time.perf_counter()
            if t0 >= stop:
                break
            conn.request("POST", path, body=bodies[i % len(bodies)], headers=headers)
            resp = conn.getresponse()
            resp.read()
            t1 = time.perf_counter()
            i += 1
            if resp.status != 200:
                errors += 1
            if t0 >= warm:
                lat.append(t1 - t0)
        results.append((lat, errors))

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(([x for lat, _ in results for x in lat], sum(e for _, e in results)))


def run_python(port: int, path: str, token: str | None, bodies: list[bytes], args) -> dict:
    procs = max(1, min(args.procs, args.connections))
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = time.perf_counter() + 1.0
    warm, stop = start + args.warmup, start + args.warmup + args.seconds
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    per = [args.connections // procs + (1 if k < args.connections % procs else 0) for k in range(procs)]
    workers = [ctx.Process(target=_python_worker, args=(port, path, headers, bodies, k * 104729, start, warm, stop,
                                                        per[k], out)) for k in range(procs)]
    for w in workers:
        w.start()
    lat, errors = [], 0
    for _ in workers:
        part, errs = out.get()
        lat.extend(part)
        errors += errs
    for w in workers:
        w.join()
    lat.sort()
    return {"rps": len(lat) / args.seconds, "p50_ms": percentile_ms(lat, 50), "p99_ms": percentile_ms(lat, 99),
            "requests": len(lat), "errors": errors}


WRK_SCRIPT = """
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local token = os.getenv("BENCH_TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local i = math.random(#bodies)
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
              + summary.errors.timeout
  io.write(string.format('RESULT {"requests": %d, "seconds": %.6f, "p50_us": %d, "p99_us": %d, "errors": %d}\\n',
           summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99), bad))
end
"""


def run_wrk(port: int, path: str, token: str | None, bodies: list[bytes], args, work: Path) -> dict:
    (work / "bodies.txt").write_bytes(b"\n".join(bodies) + b"\n")
    (work / "bench.lua").write_text(WRK_SCRIPT)
    env = {**os.environ, "BENCH_BODIES": str(work / "bodies.txt"), "BENCH_TOKEN": token or ""}
    url = f"http://127.0.0.1:{port}{path}"
    threads = max(1, min(args.procs, args.connections))
    base = ["wrk", "-t", str(threads), "-c", str(args.connections), "-s", str(work / "bench.lua")]
    subprocess.run(base + ["-d", f"{args.warmup}s", url], env=env, check=True, capture_output=True)
    done = subprocess.run(base + ["-d", f"{args.seconds}s", "--timeout", "10s", url], env=env, check=True,
                          capture_output=True, text=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    res = json.loads(line[len("RESULT "):])
    return {"rps": res["requests"] / res["seconds"], "p50_ms": res["p50_us"] / 1000, "p99_ms": res["p99_us"] / 1000,
            "requests": res["requests"], "errors": res["errors"]}


# ---- the run -----------------------------------------------------------------------------------

def check_answers(port: int, token: str, workload: dict, n: int = 50) -> None:
    client = Client(port, token)
    for entity, expected in list(zip(workload["entities"], workload["expected"], strict=True))[:n]:
        status, got = client.post("/api/v1/breapplyrules",
                                  {"data": {"slice": 1, "app": APP, "ruleset": workload["entry"], "entity": entity}})
        if status != 200 or got["data"] != expected:
            raise SystemExit(f"wrong answer for {entity}: {status} {got} (expected {expected})")
    client.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="breapplyrules throughput and latency next to a Flask echo")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (both servers)")
    ap.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (both servers)")
    ap.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    ap.add_argument("--procs", type=int, default=2, help="load generator processes (wrk threads)")
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per round and endpoint")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each measurement")
    ap.add_argument("--rounds", type=int, default=6, help="alternating rounds of echo and breapplyrules")
    ap.add_argument("--entities", type=int, default=1000)
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    ap.add_argument("--factory", default="crux:create_app()",
                    help="gunicorn target serving Crux (for experiments; default %(default)s)")
    args = ap.parse_args(argv)
    generator = "wrk" if args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk")) else "python"
    if generator == "wrk":      # wrk takes whole seconds
        args.warmup, args.seconds = round(args.warmup) or 1, round(args.seconds) or 1

    workload = workload_generator().build("discount", args.entities)
    url = os.environ.get("CRUX_BENCH_DATABASE_URL")
    dropme = None if url else f"crux_httpbench_{uuid.uuid4().hex[:8]}"
    if dropme:
        url = create_database(LOCAL_SERVER, dropme)
    secret = uuid.uuid4().hex * 2
    work = Path(tempfile.mkdtemp(prefix="crux-httpbench-"))
    servers = []
    try:
        token = load_rules(url, secret, workload)
        env = {"CRUX_DATABASE_URL": url, "CRUX_JWT_SECRET": secret, "PROMETHEUS_MULTIPROC_DIR": str(work),
               "CRUX_POOL_MAX": str(max(4, args.threads))}
        crux = serve(args.factory, args, env, work)
        servers.append(crux)
        echo = serve("http_bench:echo_app()", args, {}, work)
        servers.append(echo)
        crux.wait_ready("/readyz")
        echo.wait_ready("/healthz")
        check_answers(crux.port, token, workload)
        payloads = [{"slice": 1, "app": APP, "ruleset": workload["entry"], "entity": e} for e in workload["entities"]]
        bodies = [json.dumps({"data": p}, separators=(",", ":")).encode() for p in payloads]

        def measure(server, path, tok):
            before = server.cpu_seconds()
            if generator == "wrk":
                res = run_wrk(server.port, path, tok, bodies, args, work)
            else:
                res = run_python(server.port, path, tok, bodies, args)
            after = server.cpu_seconds()
            # server CPU per request (warm-up included on both sides): steadier than req/s on a busy machine
            served = res["requests"] * (args.warmup + args.seconds) / args.seconds
            res["cpu_us"] = 1e6 * (after - before) / max(1, served)
            return res

        rounds = []
        for k in range(args.rounds):
            e = measure(echo, "/echo", None)
            a = measure(crux, "/api/v1/breapplyrules", token)
            ratio = a["rps"] / e["rps"]
            cpu_ratio = e["cpu_us"] / a["cpu_us"] if e["cpu_us"] and a["cpu_us"] else None
            rounds.append({"echo": e, "breapplyrules": a, "ratio": ratio, "cpu_ratio": cpu_ratio})
            print(f"round {k + 1}: echo {e['rps']:6.0f} req/s p50 {e['p50_ms']:5.2f} ms p99 {e['p99_ms']:6.2f} ms "
                  f"cpu {e['cpu_us']:4.0f} us | breapplyrules {a['rps']:6.0f} req/s p50 {a['p50_ms']:5.2f} ms "
                  f"p99 {a['p99_ms']:6.2f} ms cpu {a['cpu_us']:4.0f} us | ratio {ratio:.2f} "
                  f"(cpu {cpu_ratio or 0:.2f}) errors {e['errors']}/{a['errors']}", flush=True)
    finally:
        for server in servers:
            server.stop()
        if dropme:
            drop_database(LOCAL_SERVER, dropme)
        shutil.rmtree(work, ignore_errors=True)

    ratio = statistics.median(r["ratio"] for r in rounds)
    cpu_ratios = [r["cpu_ratio"] for r in rounds if r["cpu_ratio"]]
    cpu_ratio = statistics.median(cpu_ratios) if cpu_ratios else None
    ok = ratio >= TARGET and not any(r["echo"]["errors"] or r["breapplyrules"]["errors"] for r in rounds)
    print(f"\nbreapplyrules / echo throughput (median of {len(rounds)} rounds): {ratio:.2f}x; target >= {TARGET}x: "
          f"{'PASS' if ok else 'FAIL'}")
    if cpu_ratio:
        print(f"server CPU per request, echo / breapplyrules (median): {cpu_ratio:.2f}x "
              "(the throughput ratio a CPU-bound server would reach; steadier on a shared machine)")
    print(f"generator {generator}, {args.connections} connections, gunicorn gthread {args.workers} workers x "
          f"{args.threads} threads, {os.cpu_count()} CPUs, {args.seconds}s per measurement")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "http.json").write_text(json.dumps({
        "generator": generator, "args": vars(args), "cpus": os.cpu_count(), "rounds": rounds, "ratio": ratio,
        "cpu_ratio": cpu_ratio, "target": TARGET, "pass": ok}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
