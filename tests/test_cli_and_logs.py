"""The command line (realm add, token, db upgrade, openapi; messages instead of tracebacks), JWKS tokens,
and the log lines (changes, defects, warnings, gunicorn's errors)."""
from __future__ import annotations

import json
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import click
import jwt
import psutil
import psycopg
import pytest
from click.testing import CliRunner

from crux.cli import cli
from tests.conftest import ROOT, TEST_SECRET, RealmHandle, error_of
from tests.http_server import Server
from tests.rules_data import eventually


@pytest.fixture
def cli_env(database_url, settings):
    return {"CRUX_DATABASE_URL": database_url, "CRUX_JWT_SECRET": TEST_SECRET, "CRUX_DATA_DIR": settings.data_dir}


def test_realm_add_and_token_give_a_working_admin(cli_env, app, client):
    runner = CliRunner()
    name = f"cli{uuid.uuid4().hex[:8]}"
    result = runner.invoke(cli, ["realm", "add", name.upper(), "--admin", "Boss"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert f"realm {name} created" in result.output
    again = runner.invoke(cli, ["realm", "add", name, "--admin", "boss"], env=cli_env)
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(cli, ["realm", "add", "9bad", "--admin", "x"], env=cli_env)
    assert bad.exit_code != 0
    token = runner.invoke(cli, ["token", "--realm", name, "--user", "boss", "--ttl", "60"], env=cli_env).output.strip()
    handle = RealmHandle(app, client, name, "boss")
    assert handle.ok("capget", {"user": "boss"}, token=token)["capabilities"][0]["cap"] in ("auth", "root")
    assert [s["id"] for s in handle.ok("realmslicelist", token=token)["slices"]] == [1]


def test_db_upgrade_reports_up_to_date(cli_env, app):
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=cli_env)
    assert result.exit_code == 0 and "up to date" in result.output


def test_openapi_write(cli_env, tmp_path):
    out = tmp_path / "openapi.json"
    result = CliRunner().invoke(cli, ["openapi", "write", str(out)], env=cli_env)
    assert result.exit_code == 0
    assert "/api/v1/appnew" in json.loads(out.read_text())["paths"]


def test_every_write_logs_a_change_line(realm, capfd):
    capfd.readouterr()
    realm.ok("configset", {"slice": 1, "name": "limit", "val": "5"})
    realm.ok("configset", {"slice": 1, "name": "limit", "val": "6"})
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.startswith("{")]
    changes = [line for line in lines if line["type"] == "C"]
    assert len(changes) == 2
    last = changes[-1]
    assert last["app"] == "crux" and last["who"] == "admin" and last["op"] == "update"
    data = last["data"]["change_data"]
    assert data["entity"] == "config" and data["op"] == "update"
    by_field = {c["field"]: c for c in data["changes"]}
    assert by_field["val"] == {"field": "val", "old_value": "5", "new_value": "6"}
    assert by_field["ver"]["new_value"] == "2"
    assert all(isinstance(c["new_value"], (str, type(None))) for c in data["changes"])
    assert not any("Bearer" in json.dumps(line) for line in lines)


def test_tokens_from_a_jwks_url(settings):
    from dataclasses import replace

    from cryptography.hazmat.primitives.asymmetric import rsa

    from crux.services.tokens import TokenVerifier
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/certs"
        verifier = TokenVerifier(replace(settings, jwt_secret="", jwt_jwks_url=url, jwt_issuer="https://idp/realms/shop"))
        token = jwt.encode({"preferred_username": "Zed", "iss": "https://idp/realms/shop", "exp": 2**31}, key,
                           algorithm="RS256", headers={"kid": "k1"})
        assert verifier.verify(token) == ("shop", "zed")
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode({"sub": "zed", "iss": "https://idp/realms/shop", "exp": 2**31}, other,
                            algorithm="RS256", headers={"kid": "k1"})
        with pytest.raises(Exception) as info:
            verifier.verify(forged)
        assert getattr(info.value, "status", None) == 401
    finally:
        server.shutdown()
        server.server_close()


# ---- defects, warnings and gunicorn's own errors are JSON lines too ---------------------------

def _json_lines(text: str) -> list[dict]:
    """Every line of `text` as JSON (failing on any plain-text line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_defect_is_one_json_line_with_its_stack_trace(realm, capfd, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a defect planted by the test")

    capfd.readouterr()
    monkeypatch.setattr(realm.crux.identities, "authenticate", broken)
    resp = realm.call("applist", {})
    assert resp.status_code == 500 and error_of(resp)["errcode"] == "internal"
    out, err = capfd.readouterr()
    assert err == ""
    defects = [line for line in _json_lines(out) if line["type"] == "D"]
    assert len(defects) == 1, defects
    defect = defects[0]
    assert defect["pri"] == "err" and defect["module"] == "crux.api" and defect["msg"] == "internal error"
    trace = defect["data"]["debug_data"]["stacktrace"]
    assert trace.startswith("Traceback") and trace.endswith("RuntimeError: a defect planted by the test")
    assert "a defect planted by the test" not in resp.get_data(as_text=True)


def test_pool_and_listener_warnings_are_json_lines(settings, database_url, conn, capfd):
    """A database that drops the service's connections: the pool, the store and the cache
    listener say so in JSON lines, and the service recovers by itself."""
    from crux import create_app
    url = psycopg.conninfo.make_conninfo(database_url, application_name="crux_log_test")
    app = create_app(settings, database_url=url, migrate=False)
    try:
        crux = app.extensions["crux"]
        crux.listener.wait_connected(10)
        client = app.test_client()
        assert client.get("/readyz").status_code == 200
        capfd.readouterr()
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'crux_log_test'")
        # Whether the first call meets a dead connection (503) or the listener, which notices the
        # lost server at once, has had the pool drop its connections first (200) is a race.
        statuses = [client.get("/readyz").status_code for _ in range(3)]
        assert set(statuses) <= {200, 503} and eventually(lambda: client.get("/readyz").status_code == 200)
        eventually(lambda: crux.listener.wait_connected(0.1))
        out, err = capfd.readouterr()
    finally:
        app.extensions["crux"].close()
    assert err == ""
    said = {(line["module"], line["pri"], line["msg"].split(":")[0])
            for line in _json_lines(out) if line["type"] == "D"}
    if 503 in statuses:        # a call met a dead connection: it said so, and the pool dropped it
        assert ("crux.db", "warn", "database unavailable") in said, said
        assert ("psycopg.pool", "warn", "discarding closed connection") in said, said
    assert ("crux.notify", "warn", "cache listener lost its connection") in said, said


def test_gunicorn_errors_are_json_lines(database_url, tmp_path):
    """`crux serve` whose worker is killed: gunicorn's own message about it is a JSON line, and
    the server's whole output is JSON lines."""
    server = Server(database_url, tmp_path)
    try:
        eventually(server.ready, timeout=60, interval=0.2)
        worker = psutil.Process(server.proc.pid).children()[0]
        worker.kill()
        log_path = tmp_path / f"server-{server.port}.log"
        eventually(lambda: "SIGKILL" in log_path.read_text(), timeout=30, interval=0.1)
        eventually(server.ready, timeout=60, interval=0.2)         # gunicorn starts another worker
    finally:
        server.stop()
    lines = _json_lines(log_path.read_text())
    killed = [line for line in lines if "SIGKILL" in line.get("msg", "")]
    assert killed and killed[0]["module"] == "gunicorn.error" and killed[0]["pri"] == "err"
    assert killed[0]["type"] == "D" and killed[0]["msg"].startswith(f"Worker (pid:{worker.pid}) was sent SIGKILL")


# ---- the command line: messages, not tracebacks ---------------------------------------------

def _commands(group: click.Group, path=("crux",)):
    for name, command in group.commands.items():
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_version():
    from importlib.metadata import version
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output == f"crux, version {version('crux')}\n"


def test_every_option_has_help():
    missing = [f"{' '.join(path)} {param.opts[0]}" for path, command in [(("crux",), cli), *_commands(cli)]
               for param in command.params if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert missing == []
    assert all((command.help or "").strip() for _path, command in _commands(cli))


def test_a_missing_entity_file_is_a_message(tmp_path):
    retail = ROOT / "examples" / "retail"
    result = CliRunner().invoke(cli, ["rules", "eval", "--schema", str(retail / "schema.json"),
                                      "--rulesets", str(retail), "--entry", "main",
                                      "--entity", f"@{tmp_path}/nosuch.json"])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert (f"Error: Invalid value for --entity: cannot read {tmp_path}/nosuch.json: "
            "No such file or directory") in result.output
    assert "Traceback" not in result.output


def test_an_unwritable_openapi_path_is_a_message(tmp_path):
    result = CliRunner().invoke(cli, ["openapi", "write", str(tmp_path / "no" / "such" / "dir.json")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "cannot write" in result.output and "No such file or directory" in result.output


@pytest.mark.parametrize("args", [
    ["workflow", "graph", "--realm", "nosuch", "--slice", "1", "--app", "shop", "--workflow", "w"],
    ["history", "prune", "--older-than", "90d", "--realm", "nosuch"],
    ["changelog", "prune", "--older-than", "400d", "--realm", "NoSuch"],
    ["token", "--realm", "nosuch", "--user", "ann"],
    ["load", str(ROOT / "examples" / "retail"), "--realm", "nosuch", "--slice", "1"],
])
def test_an_unknown_realm_is_named(cli_env, app, args):
    result = CliRunner().invoke(cli, args, env=cli_env)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert result.stderr.strip() == "Error: realm nosuch does not exist" and result.stdout == ""


def test_change_lines_go_to_stderr_apart_from_the_output(cli_env, app, client, tmp_path):
    env = {**cli_env, "CRUX_LOG_LEVEL": "info"}
    name = f"cli{uuid.uuid4().hex[:8]}"
    result = CliRunner().invoke(cli, ["realm", "add", name, "--admin", "boss"], env=env)
    assert result.exit_code == 0 and result.stdout == f"realm {name} created; boss holds root and auth\n"
    changes = _json_lines(result.stderr)
    assert changes and all(line["type"] == "C" for line in changes)
    assert "realm" in {line["data"]["change_data"]["entity"] for line in changes}
    RealmHandle(app, client, name, "boss").app_new("retail")
    retail = str(ROOT / "examples" / "retail")
    result = CliRunner().invoke(cli, ["load", retail, "--realm", name, "--slice", "1"], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "5 created; 0 problem(s)"
    assert not any(line.startswith("{") for line in result.stdout.splitlines())
    assert len([line for line in _json_lines(result.stderr) if line["type"] == "C"]) >= 5


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_busy_port_gets_a_hint(cli_env, command):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, [command, "--port", str(port)], env={**cli_env, "CRUX_HOST": "127.0.0.1"})
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.stderr == (f"Error: port {port} is in use on 127.0.0.1: is another crux serve or crux demo running? "
                             "Stop it, or choose another port with --port or CRUX_PORT\n")
