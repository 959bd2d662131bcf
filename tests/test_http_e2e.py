"""End to end over a real HTTP server (`crux serve`, two gunicorn workers): workflow scenarios
(sequential, failing, concurrent, nested), the two concurrency rules hammered from many clients
whose calls land on both worker processes, and the transport (keep-alive, chunked bodies, size
limit, paths, headers) as the call router in front of Flask serves it."""
from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.http_server import Server
from tests.rules_data import eventually
from tests.wf_support import APP, WIDE, entity, setup_flows

CLIENTS = 12


@pytest.fixture
def server(database_url, tmp_path):
    srv = Server(database_url, tmp_path, workers=2)
    try:
        eventually(srv.ready, timeout=60, interval=0.1)
        yield srv
    finally:
        srv.stop()


class Http:
    """One keep-alive connection to the server, calling as one user."""

    def __init__(self, server: Server, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        self.token = token

    def raw(self, method: str, path: str, body=None, headers=None, chunked: bool = False):
        self.conn.request(method, path, body=body, encode_chunked=chunked,
                          headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                                   **(headers or {})})
        resp = self.conn.getresponse()
        return resp, resp.read()

    def call(self, name: str, payload: dict) -> tuple[int, dict]:
        resp, body = self.raw("POST", f"/api/v1/{name}", json.dumps({"data": payload}))
        return resp.status, json.loads(body)

    def ok(self, name: str, payload: dict) -> dict:
        status, body = self.call(name, payload)
        assert status == 200, (name, payload, body)
        return body["data"]

    def start(self, workflow: str, entityid: str, **extra) -> dict:
        return self.ok("wfinstancenew", {"slice": 1, "app": APP, "workflow": workflow, "entityid": entityid,
                                         "entity": entity(), **extra})

    def done(self, row_id: int, step: str, **extra) -> dict:
        return self.ok("wfinstancemarkdone", {"id": row_id, "step": step, "entity": entity(), **extra})

    def history(self, entityid: str) -> list[tuple]:
        return [(h["wfid"], h["step"], h["outcome"])
                for h in self.ok("wfinstancehistory", {"entityid": entityid})["history"]]

    def close(self):
        self.conn.close()


@pytest.fixture
def flows(realm, server):
    setup_flows(realm)
    http_ = Http(server, realm.token())
    yield http_
    http_.close()


def _ids(result: dict) -> dict[str, int]:
    return {k: v for item in result["tasks"] for k, v in item.items()}


def test_sequential_with_a_failed_step_to_done(flows):
    a = _ids(flows.start("seq", "e1"))["a"]
    assert _ids(flows.done(a, "a", stepfailed=True)) == {"fix": a}
    assert _ids(flows.done(a, "fix")) == {"a": a}
    assert _ids(flows.done(a, "a")) == {"b": a}
    assert flows.done(a, "b") == {"done": True}
    assert flows.ok("wfinstancelist", {"entityid": "e1"})["wfinstances"] == []
    assert flows.history("e1") == [(a, "a", "failed"), (a, "fix", "done"), (a, "a", "done"), (a, "b", "done")]


def test_concurrent_sets_join_after_the_last_sibling(flows):
    first = flows.start("par", "e1")
    assert first["nextstep"] == "j1"
    ids = _ids(first)
    assert set(flows.done(ids["p1"], "p1")) == {"id", "doneat"}
    assert set(flows.done(ids["p2"], "p2")) == {"id", "doneat"}
    second = flows.done(ids["p3"], "p3")
    assert second["nextstep"] == "j2" and set(_ids(second)) == {"q1", "q2"}
    ids = _ids(second)
    assert set(flows.done(ids["q2"], "q2")) == {"id", "doneat"}
    z = _ids(flows.done(ids["q1"], "q1"))["z"]
    assert flows.done(z, "z") == {"done": True}
    outcomes = flows.history("e1")
    assert [step for _, step, _ in outcomes] == ["p1", "p2", "p3", "q1", "q2", "z"]
    assert {outcome for _, _, outcome in outcomes} == {"done"}


def test_nested_sub_workflow_then_abort_of_another_tree(flows):
    first = flows.start("main", "e1")
    assert first["subflows"] == {"sign": "signing"}
    sign = _ids(first)["sign"]
    send = _ids(flows.start("signing", "e1", parent=sign))["send"]
    listed = flows.ok("wfinstancelist", {"entityid": "e1"})["wfinstances"]
    assert [(r["id"], r["parent"]) for r in listed] == [(sign, None), (send, sign)]
    assert flows.done(send, "send") == {"done": True, "parent": sign}
    b = _ids(flows.done(sign, "sign"))["b"]
    assert flows.done(b, "b") == {"done": True}
    assert flows.history("e1") == [(sign, "sign", "done"), (send, "send", "done"), (sign, "b", "done")]

    sign2 = _ids(flows.start("main", "e2"))["sign"]
    send2 = _ids(flows.start("signing", "e2", parent=sign2))["send"]
    other = _ids(flows.start("seq", "e3"))["a"]
    assert flows.ok("wfinstanceabort", {"id": sign2}) == {"aborted": [sign2, send2]}
    assert [r["id"] for r in flows.ok("wfinstancelist", {})["wfinstances"]] == [other]


def _race(server: Server, token: str, call: str, payloads: list[dict]) -> list[tuple[int, dict]]:
    """Every payload from its own connection at the same moment (the calls spread over both workers)."""
    gate = threading.Barrier(len(payloads))

    def one(payload):
        client = Http(server, token)
        try:
            client.call("applist", {})  # connected and served once before the race
            gate.wait()
            return client.call(call, payload)
        finally:
            client.close()

    with ThreadPoolExecutor(len(payloads)) as pool:
        return list(pool.map(one, payloads))


def test_identical_starts_from_many_clients_exactly_one_wins(flows, server):
    for attempt in range(4):
        payload = {"slice": 1, "app": APP, "workflow": "wide", "entityid": f"race-{attempt}", "entity": entity()}
        results = _race(server, flows.token, "wfinstancenew", [payload] * CLIENTS)
        assert sum(status == 200 for status, _ in results) == 1, results
        assert sorted(body["messages"][0]["errcode"] for status, body in results if status != 200) == \
            ["already_exist"] * (CLIENTS - 1)
        assert len(flows.ok("wfinstancelist", {"entityid": f"race-{attempt}"})["wfinstances"]) == len(WIDE)


def test_siblings_marked_done_from_many_clients_exactly_one_joins(flows, server):
    for attempt in range(4):
        ids = _ids(flows.start("wide", f"join-{attempt}"))
        payloads = [{"id": ids[s], "step": s, "entity": entity()} for s in WIDE]
        results = _race(server, flows.token, "wfinstancemarkdone", payloads)
        assert all(status == 200 for status, _ in results), results
        joins = [body["data"] for _, body in results if "tasks" in body["data"]]
        assert len(joins) == 1 and set(_ids(joins[0])) == {"q1", "q2"}, results
        open_rows = flows.ok("wfinstancelist", {"entityid": f"join-{attempt}"})["wfinstances"]
        assert sorted(r["step"] for r in open_rows) == ["q1", "q2"]
        assert [o for _, _, o in flows.history(f"join-{attempt}")] == ["done"] * len(WIDE) + [None, None]


def test_transport_keep_alive_limits_chunks_paths_and_headers(flows, server, app):
    # keep-alive: one connection serves call after call
    for _ in range(3):
        status, body = flows.call("applist", {})
        assert status == 200 and body["status"] == "success"
    # a body past the limit is a 413 envelope without being read (the server then drops the
    # connection rather than drain it)
    big = Http(server, flows.token)
    resp, body = big.raw("POST", "/api/v1/appnew",
                         json.dumps({"name": "x", "descr": "y" * app.config["MAX_CONTENT_LENGTH"]}))
    assert resp.status == 413 and json.loads(body)["messages"][0]["errcode"] == "toobig"
    big.close()
    # paths are case-insensitive; every answer is JSON with CORS headers and its length
    resp, body = flows.raw("POST", "/API/v1/WfInstanceList", json.dumps({"entityid": "none"}))
    assert resp.status == 200 and json.loads(body)["data"] == {"wfinstances": []}
    assert resp.getheader("Content-Type") == "application/json"
    assert resp.getheader("Access-Control-Allow-Origin") == "*"
    assert int(resp.getheader("Content-Length")) == len(body)
    # a chunked body (no Content-Length) is read whole
    chunks = iter([b'{"data": {"slice": 1, "app": "' + APP.encode(), b'", "workflow": "seq", "entityid": "chunked", ',
                   b'"entity": {"class": "case", "amount": 1}}}'])
    resp, body = flows.raw("POST", "/api/v1/wfinstancenew", chunks, chunked=True)
    assert resp.status == 200, body
    assert list(_ids(json.loads(body)["data"])) == ["a"]
    # no token, a bad token, an unknown call and a wrong method: envelopes, never a 500
    for method, path, headers, status, errcode in (
            ("POST", "/api/v1/applist", {"Authorization": ""}, 401, "authn"),
            ("POST", "/api/v1/applist", {"Authorization": "Bearer nope"}, 401, "authn"),
            ("POST", "/api/v1/nosuchcall", {}, 404, "not_found"),
            ("GET", "/api/v1/wfinstancemarkdone", {}, 405, "method_not_allowed")):
        resp, body = flows.raw(method, path, b"{}", headers=headers)
        assert (resp.status, json.loads(body)["messages"][0]["errcode"]) == (status, errcode), path
