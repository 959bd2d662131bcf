"""How fast the console opens a ruleset of 1,000 rules and edits one, in Debian's Chromium.

    python bench/console_bench.py [--rounds 5] [--rules 1000]

Needs Chromium (/usr/bin/chromium), Playwright for Python (the `test` extra) and a PostgreSQL:
CRUX_BENCH_DATABASE_URL, else a fresh database on CRUX_BENCH_SERVER_URL (default the local
server, postgres@127.0.0.1:5432), dropped afterwards.

It makes a realm with the shared workload generator's `flat-<rules>` ruleset (and `flat-10`, the
reference, with the same schema), serves Crux with gunicorn, and in each round opens both
rulesets' pages in a fresh browser context through a sign-in link, interleaved:

- open: from the start of the navigation to the frame after the rule table is drawn
  (the User Timing mark `crux:rules-shown` set by the page): the shell, the scripts, the
  capability probes, the calls, building the table and its first layout;
- edit: in the page, open the middle rule's editor, change a condition's value, close it, until
  the next frame (the work of one edit, layout included).

It prints each round and the medians, the ratios to the 10-rule reference, and PASS or FAIL for
the target of issue 12 (both under one second for the large ruleset); everything goes to
bench/out/console.json. Run it on a quiet machine: the timings are wall-clock.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from benchlib import HERE, Client, Server, create_database, drop_database, workload_generator

SERVER_URL = os.environ.get("CRUX_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REALM, APP, CLASS = "bench", "bench", "event"
TARGET_MS = 1000.0
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-quic"]

EDIT = """async (n) => {
  const t0 = performance.now();
  document.querySelector(`button[data-edit="${n}"]`).click();
  const value = document.querySelector(`[data-rule="${n}"] input[aria-label="Condition 1: value"]`);
  value.value = "123";
  value.dispatchEvent(new Event("input", {bubbles: true}));
  document.querySelector(`[data-rule="${n}"] button.primary`).click();
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
  if (!document.querySelector(`[data-rule="${n}"]`).textContent.includes("amount > 123")) {
    throw new Error("the edit did not show");
  }
  return performance.now() - t0;
}"""


def crux_command(*args: str, env: dict) -> str:
    crux = Path(sys.executable).with_name("crux")
    command = [str(crux)] if crux.exists() else [sys.executable, "-m", "crux.cli"]
    done = subprocess.run([*command, *args], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def load(port: int, token: str, rules: int) -> list[str]:
    """The app, the schema and the two rulesets (inactive: editable) -> their names."""
    gen = workload_generator()
    client = Client(port, token)
    try:
        big, ref = gen.build(f"flat-{rules}", 1), gen.build("flat-10", 1)
        schema = big["schema"]
        for name, payload in (("appnew", {"name": APP, "descr": "console benchmark"}),
                              ("breschemanew", {"slice": 1, "app": APP, "class": CLASS,
                                                "patternschema": schema["patternschema"],
                                                "actionschema": schema["actionschema"]}),
                              *(("brerulesetnew", {"slice": 1, "app": APP, "class": CLASS, "name": w["entry"],
                                                   "ruleset": w["rulesets"][0]["rules"]}) for w in (big, ref))):
            status, answer = client.post(f"/api/v1/{name}", {"data": payload})
            if status != 200:
                raise SystemExit(f"{name}: {answer}")
        return [big["entry"], ref["entry"]]
    finally:
        client.close()


def measure(browser, base: str, token: str, name: str, rules: int) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    said = []
    page.on("console", lambda msg: said.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: said.append(f"page error: {err}"))
    try:
        page.goto(f"{base}/console/rulesets/1/{APP}/{CLASS}/{name}#token={token}")
        try:
            page.wait_for_selector("body[data-ready='ruleset']", state="attached", timeout=120_000)
        except PlaywrightError:
            shows = page.evaluate("() => document.body.innerText.slice(0, 600)")
            raise SystemExit(f"the page of {name} was not drawn; it shows:\n{shows}\nthe browser said:\n"
                             + "\n".join(said[-20:])) from None
        for _ in range(200):
            shown = page.evaluate("() => (performance.getEntriesByName('crux:rules-shown')[0] || {}).startTime")
            if shown:
                break
            page.wait_for_timeout(25)
        else:
            raise SystemExit("the page set no crux:rules-shown mark")
        drawn = page.evaluate("() => performance.getEntriesByName('crux:rules-drawn')[0].startTime")
        busy = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}["TaskDuration"]
        edit = page.evaluate(EDIT, rules // 2)
        nodes = page.evaluate("() => document.getElementsByTagName('*').length")
        return {"open_ms": shown, "drawn_ms": drawn, "busy_ms": 1000 * busy, "edit_ms": edit, "elements": nodes}
    finally:
        context.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="the console opening and editing a large ruleset, in Chromium")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rules", type=int, default=1000, choices=(100, 1000), help="the flat-N workload to open")
    ap.add_argument("--browser", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    url = os.environ.get("CRUX_BENCH_DATABASE_URL")
    dropme = None if url else f"crux_consolebench_{uuid.uuid4().hex[:8]}"
    if dropme:
        url = create_database(SERVER_URL, dropme)
    secret = uuid.uuid4().hex * 2
    work = Path(tempfile.mkdtemp(prefix="crux-consolebench-"))
    env = {"CRUX_DATABASE_URL": url, "CRUX_JWT_SECRET": secret, "CRUX_LOG_LEVEL": "warn", "CRUX_DATA_DIR": str(work),
           "PROMETHEUS_MULTIPROC_DIR": str(work)}
    server = None
    rounds = []
    try:
        crux_command("realm", "add", REALM, "--admin", "admin", env=env)
        token = crux_command("token", "--realm", REALM, "--user", "admin", env=env)
        server = Server("crux:create_app()", workers=1, threads=4, env=env, log=work / "server.log")
        server.wait_ready("/readyz")
        big, ref = load(server.port, token, args.rules)
        base = f"http://127.0.0.1:{server.port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.browser, args=BROWSER_ARGS)
            try:
                measure(browser, base, token, ref, 10)          # warm-up: the server's caches, the browser
                for k in range(args.rounds):
                    r = measure(browser, base, token, ref, 10)
                    b = measure(browser, base, token, big, args.rules)
                    rounds.append({"reference": r, "large": b})
                    print(f"round {k + 1}: {args.rules} rules open {b['open_ms']:6.0f} ms "
                          f"(drawn {b['drawn_ms']:5.0f}, main thread busy {b['busy_ms']:4.0f}) "
                          f"edit {b['edit_ms']:5.1f} ms, {b['elements']} elements | "
                          f"10 rules open {r['open_ms']:5.0f} ms (busy {r['busy_ms']:4.0f}) "
                          f"edit {r['edit_ms']:5.1f} ms", flush=True)
            finally:
                browser.close()
    finally:
        if server:
            server.stop()
        if dropme:
            drop_database(SERVER_URL, dropme)
        shutil.rmtree(work, ignore_errors=True)

    med = {side: {k: statistics.median(r[side][k] for r in rounds)
                  for k in ("open_ms", "edit_ms", "drawn_ms", "busy_ms")}
           for side in ("reference", "large")}
    ratios = {k: med["large"][k] / med["reference"][k] for k in ("open_ms", "edit_ms", "busy_ms")}
    ok = med["large"]["open_ms"] < TARGET_MS and med["large"]["edit_ms"] < TARGET_MS
    print(f"\nmedians of {len(rounds)} rounds: {args.rules} rules open {med['large']['open_ms']:.0f} ms, edit "
          f"{med['large']['edit_ms']:.1f} ms; 10 rules open {med['reference']['open_ms']:.0f} ms, edit "
          f"{med['reference']['edit_ms']:.1f} ms")
    print(f"ratios to the 10-rule reference: open {ratios['open_ms']:.2f}x, main thread busy while opening "
          f"{ratios['busy_ms']:.2f}x ({med['large']['busy_ms']:.0f} vs {med['reference']['busy_ms']:.0f} ms), "
          f"edit {ratios['edit_ms']:.2f}x")
    print(f"target: open and edit under {TARGET_MS:.0f} ms: {'PASS' if ok else 'FAIL'} ({os.cpu_count()} CPUs)")
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "console.json").write_text(json.dumps({"args": vars(args), "cpus": os.cpu_count(), "rounds": rounds,
                                                  "medians": med, "ratios": ratios, "target_ms": TARGET_MS, "pass": ok},
                                                 indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
