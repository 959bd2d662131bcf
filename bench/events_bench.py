#!/usr/bin/env python3
"""Benchmark of the event stream and webhooks (issue 11, SPEC §9).

    python bench/events_bench.py [--rows 100000] [--seconds 10] [--clients 8] [--rounds 3]
                                 [--webhook-events 20000] [--database-url URL]

1. What appending events costs the hot path: workflow_bench's markdone and reference loads
   (closed loop, --clients generator processes) on two identical databases served by two identical
   servers, taking turns in every round: one as Crux is, the other with event rows dropped by a
   BEFORE INSERT trigger on `wfevent` (the statements still name the table; the rows, their index
   entries and their WAL are what the trigger saves — and it costs a function call per row, so the
   "without" side is, if anything, flattered a little). Target: the markdone/reference ratio with
   events within 10% of the ratio without them (ratio_on / ratio_off >= 0.9).
2. A reader keeping up: during a markdone saturation run, one reader long-polls `wfeventlist`
   (`wait` 5, limit 1000) and notes, for every event, how long after its transaction began
   (`at`) it read it. Target: lag p99 under one second.
3. Webhooks: --webhook-events events committed for one webhook to a local receiver (answering 204
   at once), then one `crux engine` process started; events delivered per second until the last
   is acknowledged. Target: >= 1,000/s.
Results go to bench/out/events.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
from benchlib import (
    HERE,
    REPO,
    Client,
    add_server_options,
    create_database,
    median_run,
    percentile_ms,
    postgres_server,
    row_text,
)
from workflow_bench import (
    ADMIN,
    BENCH_DB,
    REALM,
    SECRET,
    define_workflow,
    preload,
    prepare_database,
    run_load,
    start_server,
)

sys.path.insert(0, str(REPO))

DROP_EVENTS = """
CREATE FUNCTION bench_drop_event() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE TRIGGER bench_drop_event BEFORE INSERT ON wfevent FOR EACH ROW EXECUTE FUNCTION bench_drop_event();
"""


def _parse_at(text: str) -> float:
    import datetime as dt
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def cost_of_events(args, servers, urls, token) -> dict:
    labels = ("reference, events on", "markdone, events on", "reference, events off", "markdone, events off")
    got: dict[str, list] = {label: [] for label in labels}
    for i in range(args.rounds):
        for label in labels:
            side = "on" if "events on" in label else "off"
            kind = "workflow" if label.startswith("markdone") else "reference"
            res = run_load(kind, args.clients, args.seconds, servers[side], urls[side], token)
            got[label].append(res)
            print(row_text(f"{label} (round {i + 1})", res), flush=True)
    med = {label: median_run(runs) for label, runs in got.items()}
    ratio_on = med["markdone, events on"]["per_second"] / med["reference, events on"]["per_second"]
    ratio_off = med["markdone, events off"]["per_second"] / med["reference, events off"]["per_second"]
    return {"runs": med, "ratio_on": ratio_on, "ratio_off": ratio_off, "relative": ratio_on / ratio_off,
            "ok": ratio_on / ratio_off >= 0.9}


def reader_lag(args, server, url, token) -> dict:
    client = Client(server.port, token, timeout=30)
    status, body = client.post("/api/v1/wfeventlist", {"limit": 1})
    after = body["data"]["next"]
    while True:                          # from the current end on
        status, body = client.post("/api/v1/wfeventlist", {"after": after, "limit": 1000})
        if not body["data"]["events"]:
            break
        after = body["data"]["next"]
    lags: list[float] = []
    stop = threading.Event()

    def follow():
        nonlocal after
        while not stop.is_set():
            status, body = client.post("/api/v1/wfeventlist", {"after": after, "limit": 1000, "wait": 5})
            now = time.time()
            lags.extend(now - _parse_at(e["at"]) for e in body["data"]["events"])
            after = body["data"]["next"]

    reader = threading.Thread(target=follow)
    reader.start()
    load = run_load("workflow", args.clients, args.seconds, server, url, token)
    stop.set()
    reader.join()
    lags.sort()
    print(row_text("markdone while a reader follows", load), flush=True)
    p99 = percentile_ms(lags, 99)
    print(f"  reader: {len(lags)} events read, lag p50 {percentile_ms(lags, 50):.0f} ms, p99 {p99:.0f} ms",
          flush=True)
    return {"load": load, "events": len(lags), "lag_p50_ms": percentile_ms(lags, 50), "lag_p99_ms": p99,
            "ok": p99 is not None and p99 < 1000}


def webhook_throughput(args, url, token, port) -> dict:
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((time.perf_counter(), len(body["events"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    client = Client(port, token)
    status, body = client.post("/api/v1/webhooknew", {"name": "benchhook", "url":
                                                       f"http://127.0.0.1:{receiver.server_address[1]}/"})
    assert status == 200, body
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""INSERT INTO wfevent (realm, kind, "table", key, op)
                        SELECT %s, 'changed', 'bench', g::text, 'insert' FROM generate_series(1, %s) g""",
                     (REALM, args.webhook_events))
    env = {**os.environ, "CRUX_DATABASE_URL": url, "CRUX_JWT_SECRET": SECRET, "CRUX_LOG_LEVEL": "warn",
           "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    engine = subprocess.Popen([sys.executable, "-m", "crux.cli", "engine", "--name", "bench"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = started + 600
        while sum(n for _, n in received) < args.webhook_events + 1 and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        engine.terminate()
        engine.wait(30)
        receiver.shutdown()
    total = sum(n for _, n in received)
    first, last = received[0][0], received[-1][0]
    rate = total / (last - first) if last > first else float("nan")
    print(f"  webhook: {total} events in {len(received)} batches; {rate:.0f} events/s from the first batch to the "
          f"last ({last - started:.1f} s after the engine was started)", flush=True)
    return {"events": total, "batches": len(received), "per_second": rate, "ok": rate >= 1000}


def run(args) -> dict:
    from crux.common import log
    from crux.common.config import Settings
    from crux.services.tokens import TokenVerifier
    log.set_level("warn")
    settings = Settings(jwt_secret=SECRET, data_dir=str(REPO / ".crux" / "bench"))
    server_url = postgres_server(args.database_url)
    urls = {"on": create_database(server_url, BENCH_DB + "_events"),
            "off": create_database(server_url, BENCH_DB + "_noevents")}
    ports = {"on": args.port, "off": args.port + 1}
    token = TokenVerifier(settings).mint(REALM, ADMIN, 24 * 3600)
    servers = {}
    results: dict = {"machine": {"cpus": os.cpu_count()}, "clients": args.clients, "rows": args.rows}
    try:
        for side, url in urls.items():
            prepare_database(url, settings)
            if side == "off":
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(DROP_EVENTS)
            servers[side] = start_server(url, ports[side], args.workers, args.threads, "workflow_bench:make_app()")
            servers[side].wait_ready("/readyz")
            define_workflow(ports[side], token)
            preload(url, args.rows)
        print(f"databases ready ({args.rows} open rows each)", flush=True)
        results["cost"] = cost_of_events(args, servers, urls, token)
        servers.pop("off").stop()
        results["lag"] = reader_lag(args, servers["on"], urls["on"], token)
        results["webhook"] = webhook_throughput(args, urls["on"], token, ports["on"])
    finally:
        for each in servers.values():
            each.stop()
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="open wfinstance rows preloaded in each database")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds of each load")
    ap.add_argument("--clients", type=int, default=8, help="load generator processes")
    add_server_options(ap, port=8107, threads=2)
    ap.add_argument("--webhook-events", type=int, default=20_000)
    ap.add_argument("--out", default=str(HERE / "out" / "events.json"))
    args = ap.parse_args(argv)
    results = run(args)
    cost, lag, hook = results["cost"], results["lag"], results["webhook"]
    print(f"\nmarkdone/reference with events {cost['ratio_on']:.2f}x, without {cost['ratio_off']:.2f}x: "
          f"{cost['relative']:.2f} (target >= 0.90: {'met' if cost['ok'] else 'NOT met'})")
    print(f"reader lag p99 at markdone saturation: {lag['lag_p99_ms']:.0f} ms (target < 1000 ms: "
          f"{'met' if lag['ok'] else 'NOT met'})")
    print(f"webhook deliveries: {hook['per_second']:.0f} events/s "
          f"(target >= 1000: {'met' if hook['ok'] else 'NOT met'})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
