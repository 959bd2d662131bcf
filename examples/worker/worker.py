"""A worker pulling steps from Crux (SPEC §8.4): it claims steps, keeps its lease alive with
heartbeats while it works, and reports each step done or failed. Python's standard library only.

    TOKEN=$(crux token --realm demo --user admin) python examples/worker/worker.py \\
        --steps openaccount,creditlimit,issuecard,sendwelcome --fail creditlimit

It works the demo's account set-up (`setupaccount`): each claim long-polls (`wait`), so a step is
picked up as soon as it opens. `--fail STEP,...` makes it give up on those steps (`wfstepfail`),
so Crux retries them while attempts are left and then routes them by the workflow's rules.
`--crash-after N` makes it stop dead after claiming its Nth step, without a word to Crux: the
lease lapses, and an engine hands the step to the next attempt.

Environment: TOKEN, CRUX_URL (http://localhost:8085).
"""
import argparse
import json
import os
import threading
import time
import urllib.error
import urllib.request

URL = os.environ.get("CRUX_URL", "http://localhost:8085") + "/api/v1/"
HEADERS = {"Authorization": "Bearer " + os.environ.get("TOKEN", ""), "Content-Type": "application/json"}


def call(name, payload):
    """Make a call -> (HTTP status, the envelope's data or its first message)."""
    request = urllib.request.Request(URL + name, json.dumps({"data": payload}).encode(), HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)["data"]
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)["messages"][0]


class Heartbeat(threading.Thread):
    """Renews the lease of one claimed step every third of the lease until stopped."""

    def __init__(self, worker, step_id, lease):
        super().__init__(daemon=True)
        self.worker, self.step_id, self.lease = worker, step_id, lease
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.lease / 3):
            status, answer = call("wfstepheartbeat", {"id": self.step_id, "worker": self.worker, "lease": self.lease})
            if status != 200:                   # the lease is gone (the step expired, or was aborted)
                print(f"  heartbeat for #{self.step_id} refused: {answer.get('msg')}", flush=True)
                return


def work(args, step):
    """Carry out one claimed step and report it."""
    beat = Heartbeat(args.name, step["id"], args.lease)
    beat.start()
    try:
        time.sleep(args.work)                   # the real work would happen here
    finally:
        beat.stopped.set()
    if step["step"] in args.fail:
        status, answer = call("wfstepfail", {"id": step["id"], "worker": args.name,
                                             "error": f"{step['step']} could not be done"})
        print(f"failed {step['step']} #{step['id']} (attempt {step['attempt']}) -> {json.dumps(answer)}", flush=True)
        return
    status, answer = call("wfinstancemarkdone", {"id": step["id"], "step": step["step"], "entity": step["entity"],
                                                 "worker": args.name, "attempt": step["attempt"]})
    print(f"done {step['step']} #{step['id']} (attempt {step['attempt']}) -> {json.dumps(answer)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default=f"worker-{os.getpid()}", help="this worker's name")
    parser.add_argument("--steps", required=True, help="the steps it carries out, comma-separated")
    parser.add_argument("--fail", default="", help="steps it fails (wfstepfail), comma-separated")
    parser.add_argument("--work", type=float, default=0.5, help="seconds each step takes")
    parser.add_argument("--lease", type=int, default=30, help="seconds of each lease (renewed by heartbeats)")
    parser.add_argument("--wait", type=float, default=20, help="seconds a claim waits for a step to open")
    parser.add_argument("--idle-exit", action="store_true", help="stop when a claim finds nothing")
    parser.add_argument("--crash-after", type=int, default=0, help="vanish after claiming this many steps")
    args = parser.parse_args()
    args.fail = {s for s in args.fail.split(",") if s}
    claimed = 0
    while True:
        status, answer = call("wfstepclaim", {"worker": args.name, "steps": args.steps.split(","),
                                              "lease": args.lease, "wait": args.wait})
        if status != 200:
            raise SystemExit(f"claim refused: {answer}")
        if not answer["steps"] and args.idle_exit:
            return
        for step in answer["steps"]:
            claimed += 1
            print(f"claimed {step['step']} #{step['id']} of {step['entityid']} (attempt {step['attempt']})", flush=True)
            if claimed == args.crash_after:
                print("crashing", flush=True)
                os._exit(3)                     # no report, no heartbeat: the lease will lapse
            work(args, step)


if __name__ == "__main__":
    main()
