"""Service endpoints, the API document against the calls served, migrations, and a database outage."""
from __future__ import annotations

import multiprocessing
import socket
import threading
import uuid

import psycopg
from psycopg import sql

from crux.api import all_calls
from crux.store.migrate import upgrade
from tests.conftest import ROOT, _with_database, error_of


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json()["data"] == {"status": "up"}
    assert client.get("/readyz").get_json()["data"] == {"status": "ready"}


def test_metrics_count_calls_with_latency(client, realm):
    realm.ok("applist")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'crux_requests_total{call="applist",status="200"}' in text
    assert 'crux_request_seconds_bucket{call="applist"' in text


def test_openapi_matches_the_calls_served(client, app):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {p for p in spec["paths"] if p.startswith("/api/v1/") and "{" not in p}
    assert documented == {f"/api/v1/{call.name}" for call in all_calls()}
    # every documented path and method is served, and no other method: without a token a call
    # answers 401 to the methods it takes and 405 to the others
    for path, ops in spec["paths"].items():
        if path.startswith("/api/v1/"):
            concrete = path.replace("{id}", "1").replace("{name}", "x")
            for method in ("get", "post", "put", "delete", "patch"):
                status = client.open(concrete, method=method.upper()).status_code
                assert status == (401 if method in ops else 405), (path, method, status)
    for call in all_calls():
        ops = spec["paths"][f"/api/v1/{call.name}"]
        assert set(ops) == {m.lower() for m in call.methods}, call.name
        post = ops["post"]
        assert post["responses"]["403"] == {"$ref": "#/components/responses/E403"}
        if call.schema is not None:
            name = type(call.schema).__name__
            props = spec["components"]["schemas"][name].get("properties", {})
            assert set(props) == {f.data_key or n for n, f in call.schema.fields.items()}, call.name
    assert "trylater" in spec["info"]["description"]


def test_docs_are_served_locally(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/static/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1].split("url:")[0]
    resp = client.get("/api/v1/docs/static/swagger-ui-bundle.js")
    assert resp.status_code == 200 and len(resp.data) > 100_000
    resp.close()


def _fresh_database(server_url):
    name = f"crux_mig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, _with_database(server_url, name)


def _drop(server_url, name):
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _schema_snapshot(url):
    with psycopg.connect(url) as conn:
        return conn.execute("""SELECT table_name, column_name, data_type FROM information_schema.columns
                               WHERE table_schema = 'public' ORDER BY 1, 2""").fetchall()


def test_migrations_applied_twice_change_nothing(server_url):
    name, url = _fresh_database(server_url)
    try:
        first = upgrade(url, ROOT / "schema_sql")
        assert first and first[0].startswith("0001_")
        before = _schema_snapshot(url)
        assert upgrade(url, ROOT / "schema_sql") == []
        assert _schema_snapshot(url) == before
    finally:
        _drop(server_url, name)


def _upgrade_in_process(url, queue):
    try:
        queue.put(("ok", upgrade(url, ROOT / "schema_sql")))
    except Exception as exc:  # noqa: BLE001 -- whatever it is, the parent reports it (a child's traceback is lost)
        queue.put(("error", repr(exc)))


def test_two_processes_migrating_at_once(server_url):
    name, url = _fresh_database(server_url)
    try:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_upgrade_in_process, args=(url, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        results = [queue.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
        assert all(kind == "ok" for kind, _ in results), results
        applied = sorted(len(names) for _, names in results)
        assert applied[0] == 0 and applied[1] > 0  # one applied everything, the other found it done
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] == applied[1]
    finally:
        _drop(server_url, name)


class _Proxy:
    """A TCP relay to the database that the test can cut and restore (a real outage on the wire)."""

    def __init__(self, host, port):
        # a TCP server, or the unix socket of the embedded one
        self.target = (host, port)
        self.unix_path = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else None
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(50)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                if self.unix_path:
                    upstream = socket.socket(socket.AF_UNIX)
                    upstream.connect(self.unix_path)
                else:
                    upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


def test_database_outage_gives_503_and_recovers(settings, database_url):
    from dataclasses import replace

    from crux import create_app
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    proxy = _Proxy(info["host"], int(info.get("port", 5432)))
    info["host"], info["port"] = "127.0.0.1", str(proxy.port)
    app = create_app(replace(settings, pool_timeout=2.0), database_url=psycopg.conninfo.make_conninfo(**info))
    crux = app.extensions["crux"]
    client = app.test_client()
    token = crux.tokens.mint("nosuchrealm", "u")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        assert client.post("/api/v1/applist", json={}, headers=headers).status_code == 401
        proxy.cut()
        resp = client.post("/api/v1/applist", json={}, headers=headers)
        assert resp.status_code == 503 and error_of(resp)["errcode"] == "trylater"
        assert client.get("/readyz").status_code == 503
        proxy.restore()
        statuses = []
        for _ in range(20):  # bounded: each failed try returns fast, the pool reconnects
            statuses.append(client.post("/api/v1/applist", json={}, headers=headers).status_code)
            if statuses[-1] == 401:
                break
        assert statuses[-1] == 401, statuses
        assert client.get("/readyz").status_code == 200
    finally:
        crux.close()
        proxy.close()
