#!/usr/bin/env python3
"""HTTP benchmark of worker claims and of expiries (SPEC §8), each against a reference in the same run.

    python bench/deadline_bench.py [--rows 1000000] [--small 10000] [--expiries 100000]
                                   [--seconds 10] [--latency-seconds 8] [--clients 4] [--claim-max 10]
                                   [--rounds 3] [--workers 2] [--threads 4] [--database-url URL]
                                   [--phases claims,throughput,expiries]

Three databases on one PostgreSQL, made afresh at every run: `crux_bench_claims_small` and
`crux_bench_claims` hold --small and --rows claimable rows (workflow `pool`, 20 steps in a loop,
each row with its entity and open history row), each served by its own identical gunicorn
(`wsgi:app`, --workers x --threads); `crux_bench_expiry` holds --expiries rows of a step with a
deadline and attempts to spare.

  1. claims at scale: one client claims a row of `pool` (max 1) and reports it done (with its
     worker and attempt), over and over, against each database in alternating rounds; the
     claim's p50 at --rows against its p50 at --small (a claim that sorted the backlog would
     grow with it);
  2. claim + report against plain reports, on the large database, --clients closed-loop clients
     each: steps/s of clients that claim up to --claim-max rows at a time and report each, next
     to clients that run their own instances of the same workflow with wfinstancemarkdone alone;
  3. expiries: every deadline of the expiry database passes at once, and `crux engine`
     processes handle them (each a retry: a new attempt on the same row, one statement per
     batch); expiries/s with one engine, then with two.

Targets: claim p50 at --rows within 1.2x of --small; claim + report >= 0.5x the steps/s of
plain reports; >= 2,000 expiries/s with one engine, and twice that with two where the machine
has the cores. Results go to bench/out/deadlines.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import (
    HERE,
    REPO,
    Server,
    Tally,
    add_server_options,
    alternate,
    create_database,
    database_cpu_seconds,
    postgres_server,
    prepare_crux_database,
    run_clients,
)

sys.path.insert(0, str(REPO))

REALM, APP, ADMIN, CLASS = "bench", "bench", "admin", "job"
SECRET = "crux-bench-secret-0123456789abcdef0123456789"
STEPS = [f"s{i}" for i in range(1, 21)]
DATABASES = {"small": "crux_bench_claims_small", "large": "crux_bench_claims", "expiry": "crux_bench_expiry"}


# ---- the load generators ----------------------------------------------------------------------

def _claiming_client(index: int, client, start: float, warm: float, stop: float, most: int, out) -> None:
    """Claim up to `most` rows of `pool`, report each done; claim latencies go to `new`, reports'
    to `done` (steps/s) — or, with most == 1, claims to `done` (the latency phase)."""
    claims, dones = Tally(client, warm), Tally(client, warm)
    worker = f"bench-{index}"
    while time.perf_counter() < stop:
        body = claims.post("/api/v1/wfstepclaim", {"worker": worker, "workflow": "pool", "max": most},
                           time.perf_counter())
        for step in [] if body is None else body["data"]["steps"]:
            dones.post("/api/v1/wfinstancemarkdone", {"id": step["id"], "step": step["step"], "entity": step["entity"],
                                                      "worker": worker, "attempt": step["attempt"]},
                       time.perf_counter())
    primary, other = (claims, dones) if most == 1 else (dones, claims)
    report = primary.report(other.latencies)
    report.update(calls=claims.calls + dones.calls, errors=claims.errors + dones.errors,
                  first_error=claims.first_error or dones.first_error)
    out.put(report)


def _reporting_client(index: int, client, start: float, warm: float, stop: float, out) -> None:
    """Run an instance of `chain` (the same 20 steps in a loop) with wfinstancemarkdone alone."""
    dones = Tally(client, warm)
    entity = {"class": CLASS, "n": index}
    body = dones.post("/api/v1/wfinstancenew", {"slice": 1, "app": APP, "workflow": "chain", "entity": entity,
                                                "entityid": f"chain-{int(start * 1000)}-{index}"}, 0.0)
    row_id, n = body["data"]["tasks"][0]["s1"], 0
    while time.perf_counter() < stop:
        if dones.post("/api/v1/wfinstancemarkdone", {"id": row_id, "step": STEPS[n % 20], "entity": entity},
                      time.perf_counter()) is None:
            break
        n += 1
    out.put(dones.report())


# ---- databases --------------------------------------------------------------------------------

def _rule(step: str, task: str) -> dict:
    return {"rulepattern": [{"attr": "step", "op": "eq", "val": step}],
            "ruleactions": {"tasks": [task], "properties": {"nextstep": task}}}


def define_workflows(url: str, settings) -> None:
    """Class `job` and three workflows of 20 steps in a loop: `pool` (claimed), `chain` (run by
    plain reports) and `timed` (s1 has a deadline and 100 attempts)."""
    from crux.services import admin
    from crux.services.principal import Grant, Identity
    from crux.services.rules import WORKFLOW, RuleService
    from crux.store.db import Database
    db = Database(settings, url)
    db.pool.open(wait=True)
    try:
        ident = Identity(REALM, ADMIN, (Grant(None, "root", None, None),))
        admin.app_new(db, ident, {"name": APP, "descr": "deadline benchmark"})
        rules = RuleService(db)
        key = {"slice": 1, "app": APP, "class": CLASS}
        rules.schema_new(ident, WORKFLOW, {**key, "patternschema": [
            {"attr": "step", "valtype": "enum", "vals": ["START", *STEPS]}, {"attr": "stepfailed", "valtype": "bool"},
            {"attr": "n", "valtype": "int"}], "actionschema": {"tasks": STEPS, "properties": ["nextstep", "done"]}})
        flow = [_rule("START", "s1")] + [_rule(s, STEPS[(i + 1) % 20]) for i, s in enumerate(STEPS)]
        for name, steps in (("pool", {}), ("chain", {}), ("timed", {"s1": {"timeout": 3600, "attempts": 100}})):
            rules.ruleset_new(ident, WORKFLOW, {**key, "name": name, "flowrules": flow, "steps": steps})
            rules.ruleset_activate(ident, WORKFLOW, {**key, "name": name})
    finally:
        db.close()


def preload(url: str, workflow: str, rows: int, timed: bool = False) -> None:
    """`rows` open rows of `workflow` (with their entity and open history row), in batches."""
    import psycopg
    extra = ("dueat, maxattempts, timeout", "now() + interval '1 day', 100, 3600") if timed else ("", "")
    with psycopg.connect(url, autocommit=True) as conn:
        for lo in range(1, rows + 1, 200_000):
            p = {"lo": lo, "hi": min(rows, lo + 199_999), "realm": REALM, "app": APP, "workflow": workflow}
            conn.execute(f"""
                WITH ins AS (
                    INSERT INTO wfinstance (realm, entityid, slice, app, class, workflow, step, nextstep, entity,
                                            loggedat{', ' + extra[0] if timed else ''})
                    SELECT %(realm)s, 'pre-' || g, 1, %(app)s, 'job', %(workflow)s, s.step, s.step,
                           jsonb_build_object('class', 'job', 'n', g), now() - interval '1 day'
                           {', ' + extra[1] if timed else ''}
                    FROM generate_series(%(lo)s::int, %(hi)s::int) g,
                         LATERAL (SELECT CASE WHEN {str(timed).lower()} THEN 's1' ELSE 's' || (1 + g %% 20) END
                                  AS step) s
                    RETURNING id, realm, entityid, slice, app, class, workflow, step, loggedat)
                INSERT INTO wfhistory (wfid, realm, entityid, slice, app, class, workflow, step, loggedat)
                SELECT id, realm, entityid, slice, app, class, workflow, step, loggedat FROM ins""", p)
        conn.execute("VACUUM ANALYZE wfinstance")
        conn.execute("VACUUM ANALYZE wfhistory")
        try:
            conn.execute("CHECKPOINT")      # the bulk load's pages written out before any measurement
        except psycopg.errors.InsufficientPrivilege:
            print("CHECKPOINT refused (not a superuser): measurements may meet the load's checkpoint")


def _env(url: str) -> dict:
    return {"CRUX_DATABASE_URL": url, "CRUX_JWT_SECRET": SECRET, "CRUX_LOG_LEVEL": "warn"}


# ---- expiries ---------------------------------------------------------------------------------

class Engines:
    """`crux engine` processes on one database."""

    def __init__(self, url: str, count: int):
        self.procs = [subprocess.Popen([sys.executable, "-m", "crux.cli", "engine", "--name", f"bench-{i}"],
                                       cwd=REPO, env={**os.environ, **_env(url)}) for i in range(count)]

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def expire_all(url: str, engines: int) -> dict:
    """Start `engines` engines, let them register, make every deadline pass at once, and time
    until every row has its next attempt."""
    import psutil
    import psycopg
    group = Engines(url, engines)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM wfengine WHERE status = 'active' AND name LIKE 'bench-%%'"
                               ).fetchone()[0] < engines:
                if time.monotonic() > deadline:
                    raise SystemExit("the engines did not start")
                time.sleep(0.2)
            rows, base = conn.execute("SELECT count(*), max(attempt) FROM wfinstance").fetchone()
            procs = [psutil.Process(pid) for pid in group.pids()]
            cpu0 = (sum(p.cpu_times().user + p.cpu_times().system for p in procs), database_cpu_seconds(url))
            t0 = time.perf_counter()
            conn.execute("UPDATE wfinstance SET dueat = now()")
            while True:
                left = conn.execute("SELECT count(*) FROM wfinstance WHERE attempt <= %s", (base,)).fetchone()[0]
                if left == 0:
                    break
                time.sleep(0.05)
            seconds = time.perf_counter() - t0
            cpu1 = (sum(p.cpu_times().user + p.cpu_times().system for p in procs), database_cpu_seconds(url))
            conn.execute("UPDATE wfinstance SET dueat = now() + interval '1 day'")
            conn.execute("VACUUM ANALYZE wfinstance")
    finally:
        group.stop()
    return {"engines": engines, "expiries": rows, "seconds": round(seconds, 2), "per_second": rows / seconds,
            "cpu_ms_per_expiry": {"engines": round(1000 * (cpu1[0] - cpu0[0]) / rows, 3),
                                  "database": round(1000 * (cpu1[1] - cpu0[1]) / rows, 3)}}


# ---- the run ----------------------------------------------------------------------------------

def run(args) -> dict:
    from crux.common import log
    from crux.common.config import Settings
    from crux.services.tokens import TokenVerifier
    log.set_level("warn")
    settings = Settings(jwt_secret=SECRET, data_dir=str(REPO / ".crux" / "bench"))
    server_url = postgres_server(args.database_url)
    phases = set(args.phases.split(","))
    sizes = {"small": args.small, "large": args.rows}
    wanted = [n for n in DATABASES if (n != "expiry" and phases & {"claims", "throughput"})
              or (n == "expiry" and "expiries" in phases)]
    if "claims" not in phases:
        wanted = [n for n in wanted if n != "small"]
    urls = {name: create_database(server_url, DATABASES[name]) for name in wanted}
    token = TokenVerifier(settings).mint(REALM, ADMIN, 24 * 3600)
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "server": {"workers": args.workers, "threads": args.threads}, "phases": {}, "targets": {}}
    servers: dict[str, Server] = {}
    try:
        for name, url in urls.items():
            t0 = time.time()
            prepare_crux_database(url, settings, REALM, ADMIN)
            define_workflows(url, settings)
            if name == "expiry":
                preload(url, "timed", args.expiries, timed=True)
            else:
                preload(url, "pool", sizes[name])
                servers[name] = Server("wsgi:app", workers=args.workers, threads=args.threads, env=_env(url),
                                       port=args.port + len(servers), options=("--keep-alive", "30"))
                servers[name].wait_ready("/readyz")
            print(f"{DATABASES[name]}: prepared in {time.time() - t0:.0f} s", flush=True)
        if "claims" in phases:
            labels = tuple(f"claim, 1 client, {sizes[s]} rows" for s in ("small", "large"))
            got = alternate(args.rounds, labels, [
                lambda s=s: run_clients([(_claiming_client, (1,))], servers[s], urls[s], token, args.latency_seconds)
                for s in ("small", "large")])
            small, large = got.values()
            growth = statistics.median(r["p50_ms"] for r in large["rounds"]) / statistics.median(
                r["p50_ms"] for r in small["rounds"])
            results["phases"]["claims"] = {"small": small, "large": large, "rows": sizes}
            results["targets"].update(claim_p50_growth=growth, claim_p50_growth_ok=growth <= 1.2)
        if "throughput" in phases:
            server, url = servers["large"], urls["large"]
            got = alternate(args.rounds, (f"markdone alone, {args.clients} clients",
                                          f"claim (max {args.claim_max}) + markdone, {args.clients} clients"), [
                lambda: run_clients([(_reporting_client, ())] * args.clients, server, url, token, args.seconds),
                lambda: run_clients([(_claiming_client, (args.claim_max,))] * args.clients, server, url, token,
                                    args.seconds)])
            plain, claimed = got.values()
            ratio = claimed["per_second"] / plain["per_second"]
            results["phases"]["throughput"] = {"markdone": plain, "claim_markdone": claimed}
            results["targets"].update(claim_markdone_ratio=ratio, claim_markdone_ok=ratio >= 0.5)
        for each in servers.values():
            each.stop()
        servers.clear()
        if "expiries" in phases:
            one = expire_all(urls["expiry"], 1)
            print(f"  expiries, 1 engine: {one['per_second']:.0f}/s ({one['expiries']} in {one['seconds']} s; "
                  f"cpu ms/expiry {one['cpu_ms_per_expiry']})", flush=True)
            two = expire_all(urls["expiry"], 2)
            print(f"  expiries, 2 engines: {two['per_second']:.0f}/s ({two['expiries']} in {two['seconds']} s; "
                  f"cpu ms/expiry {two['cpu_ms_per_expiry']})", flush=True)
            results["phases"]["expiries"] = {"one": one, "two": two}
            results["targets"].update(expiries_one=one["per_second"], expiries_one_ok=one["per_second"] >= 2000,
                                      expiries_scaling=two["per_second"] / one["per_second"],
                                      expiries_scaling_ok=two["per_second"] >= 2 * one["per_second"])
    finally:
        for each in servers.values():
            each.stop()
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="claimable rows of the large backlog")
    ap.add_argument("--small", type=int, default=10_000, help="claimable rows of the small backlog")
    ap.add_argument("--expiries", type=int, default=100_000, help="rows expiring at once")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds of each throughput round")
    ap.add_argument("--latency-seconds", type=float, default=8.0, help="measured seconds of each claim-latency round")
    ap.add_argument("--clients", type=int, default=4, help="load generator processes in the throughput phase")
    ap.add_argument("--claim-max", type=int, default=10, help="rows per claim in the throughput phase")
    add_server_options(ap, port=8197, threads=4)
    ap.add_argument("--phases", default="claims,throughput,expiries", help="which phases to run")
    ap.add_argument("--out", default=str(HERE / "out" / "deadlines.json"))
    args = ap.parse_args(argv)
    results = run(args)
    t = results["targets"]
    if "claim_p50_growth" in t:
        print(f"\nclaim p50 at {args.rows} rows / at {args.small} rows: {t['claim_p50_growth']:.2f}x "
              f"(target <= 1.2: {'met' if t['claim_p50_growth_ok'] else 'NOT met'})")
    if "claim_markdone_ratio" in t:
        print(f"claim + markdone / markdone alone, steps/s: {t['claim_markdone_ratio']:.2f}x "
              f"(target >= 0.5: {'met' if t['claim_markdone_ok'] else 'NOT met'})")
    if "expiries_one" in t:
        print(f"expiries with one engine: {t['expiries_one']:.0f}/s (target >= 2000: "
              f"{'met' if t['expiries_one_ok'] else 'NOT met'}); two engines / one: {t['expiries_scaling']:.2f}x "
              f"(target >= 2 where the machine has the cores: {'met' if t['expiries_scaling_ok'] else 'not met'}; "
              f"{results['machine']['cpus']} cpus)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
