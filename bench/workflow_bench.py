#!/usr/bin/env python3
"""HTTP benchmark of the workflow instance calls against a reference endpoint, in one server.

    python bench/workflow_bench.py [--rows 1000000] [--seconds 15] [--latency-seconds 8]
                                   [--clients 8] [--rounds 3] [--workers 2] [--threads 2]
                                   [--database-url URL] [--factory module:callable()]

gunicorn serves Crux's app plus a reference endpoint, a plain Flask view doing one transaction
of SELECT ... FOR UPDATE, DELETE and INSERT on `bench_ref`, a table shaped like `wfinstance`
(same columns and indexes) and preloaded with as many rows, on Crux's own connection pool.
Load generator processes (a small keep-alive HTTP client each) run instances of the shared
workload `workflow-100` (START -> s1 -> ... -> s100 -> done) through `wfinstancenew` and
repeated `wfinstancemarkdone`, against `wfinstance` preloaded with --rows open rows (and their
open history rows). Phases, each measurement in --rounds alternating rounds (medians reported):

  1-2. latency at 10,000 and at --rows preloaded rows: one client, markdone and reference (p50,
     p99), on two databases (`crux_bench_small`, `crux_bench`) each served by its own identical
     server, the four loads taking turns in every round
  3. saturation: --clients closed-loop clients, reference and workflow (steps/s, p50, p99)
  4. markdone latency with the workflow offered at the reference's saturation rate (open loop:
     latency counts from each request's scheduled time, so falling behind shows); --rounds
     rounds, the round with the median p99 reported

Every run also reports CPU milliseconds per call of the generator, the server's processes and
the database backends serving it. Targets: markdone throughput >= the reference's; p99 < 25 ms
in phase 4; phase-2 markdone p50 within 1.2x of phase 1. Results go to bench/out/workflow.json.
The databases (`crux_bench` and `crux_bench_small` on the server of --database-url or
$CRUX_BENCH_DATABASE_URL, else of the embedded PostgreSQL) are dropped and created again at
every run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from benchlib import (
    HERE,
    REPO,
    Client,
    Pacer,
    Server,
    Tally,
    add_server_options,
    alternate,
    create_database,
    median_run,
    postgres_server,
    prepare_crux_database,
    row_text,
    run_clients,
    workload_generator,
)

sys.path.insert(0, str(REPO))

REALM, APP, ADMIN = "bench", "bench", "admin"
SECRET = "crux-bench-secret-0123456789abcdef0123456789"
BENCH_DB = "crux_bench"
LATENCY_ROWS = 10_000
REF_COLUMNS = "realm, entityid, slice, app, class, workflow, step, nextstep"


# ---- the server side: Crux plus the reference endpoint ----------------------------------------

def make_app():
    """gunicorn's entry point: Crux's app and the reference view, sharing Crux's pool."""
    from flask import jsonify, request

    from crux import create_app
    app = create_app(migrate=False)
    db = app.extensions["crux"].db

    @app.post("/bench/ref")
    def reference():
        row_id = request.get_json()["id"]
        with db.connection() as conn, conn.transaction():
            row = conn.execute(f"SELECT id, {REF_COLUMNS} FROM bench_ref WHERE id = %s FOR UPDATE",
                               (row_id,)).fetchone()
            if row is None:
                return jsonify({"error": "no such row"}), 404
            conn.execute("DELETE FROM bench_ref WHERE id = %s", (row_id,))
            new = conn.execute(
                f"INSERT INTO bench_ref ({REF_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (row["realm"], row["entityid"], row["slice"], row["app"], row["class"], row["workflow"],
                 row["step"], row["nextstep"])).fetchone()
        return jsonify({"id": new["id"]})

    return app


# ---- the load generator -----------------------------------------------------------------------

def _workflow_client(index: int, client: Client, start: float, warm: float, stop: float,
                     rate: float | None, clients: int, steps: list[str], out) -> None:
    pacer = Pacer(rate, start, index, clients)
    starts, steps_done = Tally(client, warm), Tally(client, warm)
    n = 0
    while time.perf_counter() < stop:
        n += 1
        entity = {"class": "case", "amount": 10.0 + n % 1000}
        body = starts.post("/api/v1/wfinstancenew", {"slice": 1, "app": APP, "workflow": "wf100",
                                                     "entityid": f"run-{int(start * 1000)}-{index}-{n}",
                                                     "entity": entity}, pacer.due())
        if body is None:
            continue
        row_id = body["data"]["tasks"][0][steps[0]]
        for step in steps:
            due = pacer.due()
            if due >= stop or steps_done.post("/api/v1/wfinstancemarkdone",
                                              {"id": row_id, "step": step, "entity": entity}, due) is None:
                break
    report = steps_done.report(starts.latencies)
    report.update(calls=starts.calls + steps_done.calls, errors=starts.errors + steps_done.errors,
                  first_error=starts.first_error or steps_done.first_error)
    out.put(report)


def _reference_client(index: int, client: Client, start: float, warm: float, stop: float,
                      rate: float | None, clients: int, first_id: int, out) -> None:
    pacer = Pacer(rate, start, index, clients)
    tally, row_id = Tally(client, warm), first_id
    while True:
        due = pacer.due()
        if due >= stop:
            break
        body = tally.post("/bench/ref", {"id": row_id}, due)
        if body is None:
            break
        row_id = body["id"]
    out.put(tally.report())


def run_load(kind: str, clients: int, seconds: float, server: Server, url: str, token: str, *,
             rate: float | None = None, warmup: float = 2.0) -> dict:
    """Run `clients` generator processes of `kind` (workflow, reference) on `server` (serving the
    database of `url`) for warmup + seconds (benchlib.run_clients)."""
    steps = [f"s{i}" for i in range(1, 101)]
    ref_ids = reference_ids(url, clients) if kind == "reference" else None
    per_client = None if rate is None else rate / clients
    specs = [(_workflow_client, (per_client, clients, steps)) if kind == "workflow"
             else (_reference_client, (per_client, clients, ref_ids[i])) for i in range(clients)]
    return run_clients(specs, server, url, token, seconds, warmup)


# ---- database preparation ---------------------------------------------------------------------

def prepare_database(url: str, settings) -> None:
    """Migrations, the realm with its app, and the reference table."""
    import psycopg
    prepare_crux_database(url, settings, REALM, ADMIN)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""CREATE TABLE bench_ref (
            id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            realm text NOT NULL, entityid text NOT NULL, slice integer NOT NULL, app text NOT NULL,
            class text NOT NULL, workflow text NOT NULL, step text NOT NULL,
            loggedat timestamptz NOT NULL DEFAULT now(), doneat timestamptz, nextstep text NOT NULL,
            parent bigint)""")
        conn.execute("CREATE INDEX bench_ref_entity ON bench_ref (realm, entityid, workflow)")
        conn.execute("CREATE INDEX bench_ref_parent ON bench_ref (parent) WHERE parent IS NOT NULL")
        conn.execute("CREATE INDEX bench_ref_slice_app ON bench_ref (realm, slice, app, workflow)")


def preload(url: str, upto: int) -> None:
    """Fill wfinstance (with an open history row each) and bench_ref up to `upto` rows."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM bench_ref").fetchone()[0]
        batch = 200_000
        for lo in range(have + 1, upto + 1, batch):
            hi = min(upto, lo + batch - 1)
            p = {"lo": lo, "hi": hi, "realm": REALM, "app": APP}
            conn.execute("""
                WITH ins AS (
                    INSERT INTO wfinstance (realm, entityid, slice, app, class, workflow, step, nextstep, loggedat)
                    SELECT %(realm)s, 'pre-' || g, 1, %(app)s, 'case', 'wf100', 's' || (1 + g %% 100),
                           's' || (1 + g %% 100), now() - interval '1 day'
                    FROM generate_series(%(lo)s::int, %(hi)s::int) g
                    RETURNING id, realm, entityid, slice, app, class, workflow, step, loggedat)
                INSERT INTO wfhistory (wfid, realm, entityid, slice, app, class, workflow, step, loggedat)
                SELECT id, realm, entityid, slice, app, class, workflow, step, loggedat FROM ins""", p)
            conn.execute(f"""INSERT INTO bench_ref ({REF_COLUMNS})
                             SELECT %(realm)s, 'pre-' || g, 1, %(app)s, 'case', 'wf100', 's' || (1 + g %% 100),
                                    's' || (1 + g %% 100)
                             FROM generate_series(%(lo)s::int, %(hi)s::int) g""", p)
        conn.execute("VACUUM ANALYZE wfinstance")
        conn.execute("VACUUM ANALYZE wfhistory")
        conn.execute("VACUUM ANALYZE bench_ref")
        # Write the loaded pages out now, so no checkpoint triggered by the bulk load lands in a
        # measurement (it would slow whichever endpoint it hits).
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("CHECKPOINT refused (not a superuser): measurements may meet the load's checkpoint")


def reference_ids(url: str, clients: int) -> list[int]:
    """A distinct starting row of bench_ref for each client."""
    import psycopg
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id FROM bench_ref ORDER BY id LIMIT %s", (clients,)).fetchall()
    return [r[0] for r in rows]


def table_rows(url: str) -> int:
    import psycopg
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM wfinstance").fetchone()[0]


# ---- the server -------------------------------------------------------------------------------

def start_server(url: str, port: int, workers: int, threads: int, factory: str) -> Server:
    """gunicorn serving `factory` on the database of `url`. The caller stops it."""
    env = {"CRUX_DATABASE_URL": url, "CRUX_JWT_SECRET": SECRET, "CRUX_LOG_LEVEL": "warn",
           "CRUX_POOL_MAX": str(max(4, threads + 2))}
    return Server(factory, workers=workers, threads=threads, env=env, port=port, options=("--keep-alive", "30"))


def define_workflow(port: int, token: str) -> None:
    """The workflow-100 workload as a workflow of the benchmark realm (through the API)."""
    wl = workload_generator().build("workflow-100", n_entities=1)
    client = Client(port, token)
    calls = [("appnew", {"name": APP, "descr": "benchmark"}),
             ("wfschemanew", {"slice": 1, "app": APP, "class": wl["schema"]["class"],
                              "patternschema": wl["schema"]["patternschema"],
                              "actionschema": wl["schema"]["actionschema"]})]
    for rs in wl["rulesets"]:
        key = {"slice": 1, "app": APP, "class": rs["class"], "name": rs["name"]}
        calls += [("workflownew", {**key, "flowrules": rs["rules"]}), ("workflowactivate", key)]
    for call, payload in calls:
        status, body = client.post(f"/api/v1/{call}", payload)
        if status != 200:
            raise SystemExit(f"{call}: {status} {body}")
    client.close()


# ---- the run ----------------------------------------------------------------------------------

def run(args) -> dict:
    from crux.common import log
    from crux.common.config import Settings
    from crux.services.tokens import TokenVerifier
    log.set_level("warn")       # not the audit lines of the set-up
    settings = Settings(jwt_secret=SECRET, data_dir=str(REPO / ".crux" / "bench"))
    server_url = postgres_server(args.database_url)
    # Two databases on the same PostgreSQL, each served by its own (identical) server: the
    # 10,000-row and the large one, so their latency rounds can alternate (drift of the machine
    # hits both sizes alike).
    names = {"small": BENCH_DB + "_small", "large": BENCH_DB}
    urls = {size: create_database(server_url, name) for size, name in names.items()}
    ports = {"small": args.port + 1, "large": args.port}
    print(f"databases {', '.join(names.values())}: preparing", flush=True)
    token = TokenVerifier(settings).mint(REALM, ADMIN, 24 * 3600)
    servers = {}
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "server": {"workers": args.workers, "threads": args.threads}, "phases": {}}
    try:
        for size, url in urls.items():
            prepare_database(url, settings)
            servers[size] = start_server(url, ports[size], args.workers, args.threads, args.factory)
            servers[size].wait_ready("/readyz")
            define_workflow(ports[size], token)
            t0 = time.time()
            preload(url, min(LATENCY_ROWS, args.rows) if size == "small" else args.rows)
            print(f"{size}: wfinstance holds {table_rows(url)} rows (loaded in {time.time() - t0:.0f} s)", flush=True)
        phases = results["phases"]
        rows = {size: table_rows(url) for size, url in urls.items()}
        labels, loads = [], []
        for kind in ("workflow", "reference"):
            for size in ("small", "large"):
                name = "markdone" if kind == "workflow" else "reference"
                labels.append(f"{name}, 1 client, {rows[size]} rows")
                loads.append(lambda kind=kind, size=size: run_load(
                    kind, 1, args.latency_seconds, servers[size], urls[size], token))
        got = list(alternate(args.rounds, tuple(labels), loads).values())
        for i, size in enumerate(("small", "large")):
            phases[f"latency_{size}"] = {"rows": rows[size], "markdone": got[i], "reference": got[2 + i]}
        # the rest on the large database only
        servers.pop("small").stop()
        url, server = urls["large"], servers["large"]
        got = alternate(args.rounds, (f"reference, {args.clients} clients", f"markdone, {args.clients} clients"), (
            lambda: run_load("reference", args.clients, args.seconds, server, url, token),
            lambda: run_load("workflow", args.clients, args.seconds, server, url, token)))
        ref, wf = got.values()
        phases["saturation"] = {"clients": args.clients, "reference": ref, "markdone": wf}
        rate = ref["per_second"]
        rounds = []
        for i in range(args.rounds):
            rounds.append(run_load("workflow", args.clients, args.seconds, server, url, token, rate=rate))
            print(row_text(f"markdone offered {rate:.0f}/s, open loop (round {i + 1})", rounds[-1]), flush=True)
        paced = median_run(rounds, "p99_ms")
        phases["at_reference_rate"] = {"offered_per_second": rate, "clients": args.clients, "markdone": paced}
    finally:
        for each in servers.values():
            each.stop()
    small, large = phases["latency_small"]["markdone"], phases["latency_large"]["markdone"]
    growth = statistics.median(r["p50_ms"] for r in large["rounds"]) / statistics.median(
        r["p50_ms"] for r in small["rounds"])
    results["targets"] = {
        "throughput_ratio": wf["per_second"] / ref["per_second"],
        "throughput_ok": wf["per_second"] >= ref["per_second"],
        "p99_at_reference_rate_ms": paced["p99_ms"],
        "p99_closed_loop_ms": {"markdone": wf["p99_ms"], "reference": ref["p99_ms"]},
        "p99_ok": paced["p99_ms"] is not None and paced["p99_ms"] < 25.0,
        "latency_growth": growth,
        "latency_growth_ok": growth <= 1.2,
    }
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="open wfinstance rows preloaded")
    ap.add_argument("--seconds", type=float, default=15.0, help="measured seconds of each saturation phase")
    ap.add_argument("--latency-seconds", type=float, default=8.0, help="measured seconds of each latency phase")
    ap.add_argument("--clients", type=int, default=8, help="load generator processes")
    add_server_options(ap, port=8097, threads=2)
    ap.add_argument("--factory", default="workflow_bench:make_app()",
                    help="gunicorn target (Crux plus the reference view; $PYTHONPATH is kept), to try a "
                         "change without editing Crux")
    ap.add_argument("--out", default=str(HERE / "out" / "workflow.json"))
    args = ap.parse_args(argv)
    results = run(args)
    t = results["targets"]
    print(f"\nmarkdone/reference throughput: {t['throughput_ratio']:.2f}x (target >= 1.0: "
          f"{'met' if t['throughput_ok'] else 'NOT met'})")
    print(f"markdone p99 at the reference's rate: {t['p99_at_reference_rate_ms'] or float('nan'):.1f} ms "
          f"(target < 25 ms: "
          f"{'met' if t['p99_ok'] else 'NOT met'})")
    print(f"(closed loop, {results['phases']['saturation']['clients']} clients: markdone p99 "
          f"{t['p99_closed_loop_ms']['markdone']:.1f} ms, reference p99 {t['p99_closed_loop_ms']['reference']:.1f} ms)")
    print(f"markdone p50 at {results['phases']['latency_large']['rows']} rows / at "
          f"{results['phases']['latency_small']['rows']} rows: {t['latency_growth']:.2f}x (target <= 1.2: "
          f"{'met' if t['latency_growth_ok'] else 'NOT met'})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
