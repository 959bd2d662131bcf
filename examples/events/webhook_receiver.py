"""A webhook receiver for Crux: checks each batch's signature, skips events it has already seen
(a batch may come again after a crash), prints the rest, and acknowledges with 204.

    WEBHOOK_SECRET=... python examples/events/webhook_receiver.py [PORT]     # default 8090
Then: webhooknew {"name": "printer", "url": "http://127.0.0.1:8090/", "secret": "..."}
"""
import hashlib
import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["WEBHOOK_SECRET"].encode()
handled: set[int] = set()       # event ids handled; a real receiver keeps them durably (or in its own writes)


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(self.headers.get("X-Crux-Signature", ""), expected):
            self.send_response(401)                     # not from Crux (or another secret)
            self.end_headers()
            return
        batch = json.loads(body)
        for event in batch["events"]:                   # in commit order (ids are not: dedupe by id, not by order)
            if event["id"] in handled:
                continue
            handled.add(event["id"])
            print(self.headers["X-Crux-Delivery"], event["kind"], event["workflow"] or event["table"],
                  event["entityid"] or event["key"], flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    HTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 8090), Receiver).serve_forever()
