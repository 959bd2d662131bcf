"""Two engine hosts (SPEC §8.5): when one engine's process is killed, the other carries on with
the expiries (§8.3) and the webhook deliveries (§9.3).
"""
from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.wf_support import APP, CLS, entity, ids_of, setup_flows


class Receiver:
    """A webhook endpoint on the rig's bridge (the engines' hosts reach it there)."""

    def __init__(self, address: str):
        self.events: list[dict] = []
        received = self.events

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                received.extend(body["events"])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.url = f"http://{address}:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_until(check, timeout: float):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.2)
    return result


def test_killing_one_engine_leaves_expiries_and_deliveries_to_the_other(rig):
    assert rig.status["engine_command"], "the rig's engine hosts run no engine"
    realm = rig.new_realm()
    setup_flows(realm)
    # seq's step a may stay open 1 s, once; an expired a fails the step: seq then hands out fix
    realm.ok("workflowdeactivate", {"slice": 1, "app": APP, "class": CLS, "name": "seq"})
    flow = realm.ok("workflowget", {"slice": 1, "app": APP, "class": CLS, "name": "seq"})
    realm.ok("workflowupdate", {"slice": 1, "app": APP, "class": CLS, "name": "seq", "flowrules": flow["flowrules"],
                                "steps": {"a": {"timeout": 1, "attempts": 1}}})
    realm.ok("workflowactivate", {"slice": 1, "app": APP, "class": CLS, "name": "seq"})
    receiver = Receiver(rig.status["hosts"]["web1"]["addr"].rsplit(".", 1)[0] + ".1")
    try:
        realm.ok("webhooknew", {"name": "follow", "url": receiver.url, "kinds": ["steptimedout", "stepopened"]})
        wait_until(lambda: {e["name"]: e["status"] for e in realm.ok("wfenginelist", {})["engines"]
                            if e["status"] == "active"}.keys() >= {"eng1", "eng2"}, 30)

        os.kill(int(Path(rig.status["dir"], "eng1", "crux.pid").read_text()), signal.SIGKILL)
        started = {f"x{i}": ids_of(realm.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": "seq",
                                                              "entityid": f"x{i}", "entity": entity()}))["a"]
                   for i in range(5)}

        def expired():
            rows = realm.ok("wfinstancelist", {"workflow": "seq"})["wfinstances"]
            return {r["entityid"]: r["step"] for r in rows} == dict.fromkeys(started, "fix")
        wait_until(expired, 20)
        for row_id in started.values():
            history = realm.ok("wfinstancehistory", {"id": row_id})["history"]
            assert [(h["step"], h["outcome"]) for h in history][:1] == [("a", "timedout")], history
        # deliveries go on: every expiry and every fix handed out reaches the webhook (a batch
        # eng1 held when it died comes again once its lease lapses)
        wait_until(lambda: {(e["kind"], e["entityid"]) for e in receiver.events} >= {
            (kind, e) for e in started for kind in ("steptimedout", "stepopened")}, 40)
        engines = {e["name"]: e["status"] for e in realm.ok("wfenginelist", {})["engines"]}
        assert engines["eng2"] == "active"
    finally:
        receiver.close()
        rig.cmd("up")
