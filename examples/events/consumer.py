"""Follow a Crux realm's events, keeping the cursor in a file: a restart resumes where it stopped.

    TOKEN=$(crux token --realm demo --user admin) python examples/events/consumer.py
Environment: TOKEN (a user with `report`), CRUX_URL (http://localhost:8085), CURSOR_FILE
(crux-events.cursor), WAIT (seconds a read waits for an event, 25), ONCE=1 to stop at the first
empty page instead of going on for ever.
"""
import json
import os
import urllib.request

URL = os.environ.get("CRUX_URL", "http://localhost:8085") + "/api/v1/wfeventlist"
HEADERS = {"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"}
CURSOR_FILE = os.environ.get("CURSOR_FILE", "crux-events.cursor")

after = open(CURSOR_FILE).read().strip() if os.path.exists(CURSOR_FILE) else None
while True:
    # `wait`: the call answers as soon as an event commits, or after that many seconds
    payload = {"wait": float(os.environ.get("WAIT", 25)), **({"after": after} if after else {})}
    request = urllib.request.Request(URL, json.dumps({"data": payload}).encode(), HEADERS)
    with urllib.request.urlopen(request, timeout=60) as response:
        page = json.load(response)["data"]
    for event in page["events"]:                        # handle them first, then move the cursor:
        print(event["kind"], event["workflow"] or event["table"], event["entityid"] or event["key"], flush=True)
    after = page["next"]                                # an event is handled at least once
    with open(CURSOR_FILE + ".tmp", "w") as f:
        f.write(after)
    os.replace(CURSOR_FILE + ".tmp", CURSOR_FILE)       # a crash never leaves half a cursor
    if os.environ.get("ONCE") and not page["events"]:
        break
