"""`crux serve` and `crux demo`: gunicorn serving `create_app()` in worker processes."""
from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
import tempfile

import click

from crux.cli.shared import database_url, settings
from crux.common import log
from crux.common.config import Settings

DEMO_REALM, DEMO_ADMIN = "demo", "admin"


def _gunicorn_logger():
    """gunicorn's logger class with its own messages (a worker timed out or killed, a worker
    that failed to boot, the port in use) as `D` lines like every other line."""
    from gunicorn import glogging

    class JsonLinesLogger(glogging.Logger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            for logger in (self.error_log, self.access_log):
                logger.handlers = [log.JsonLines()]

    return JsonLinesLogger


def _child_exit(server, worker) -> None:
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def run(config: Settings, url: str, port: int, workers: int, engine: bool = True) -> None:
    """Serve until stopped (SIGINT or SIGTERM: gunicorn finishes the requests in hand), with an
    engine process beside the workers unless `engine` is false (it stops with the server)."""
    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from crux import create_app
            return create_app(config, database_url=url)

    # Each worker keeps its metrics in a shared folder so /metrics adds up every process.
    metrics_dir = tempfile.mkdtemp(prefix="crux-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ["CRUX_DATABASE_URL"] = url
    options = {
        "logger_class": _gunicorn_logger(),
        "bind": f"{config.host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": config.threads,
        "accesslog": None,
        "loglevel": "warning",
        "child_exit": _child_exit,
        "timeout": 60,
        "graceful_timeout": 10,
    }
    log.set_stream("stdout")       # a server's log lines go to stdout (SPEC §6)
    child = spawn_engine() if engine else None
    try:
        Gunicorn().run()
    finally:
        if child is not None:
            stop_engine(child)
        shutil.rmtree(metrics_dir, ignore_errors=True)


def spawn_engine():
    """`crux engine` as a child process that stops when this one ends, however it ends."""
    import subprocess
    return subprocess.Popen([sys.executable, "-m", "crux.cli", "engine", "--exit-with-parent", str(os.getpid())])


def stop_engine(child) -> None:
    import subprocess
    child.terminate()
    try:
        child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


NO_ENGINE = click.option("--no-engine", is_flag=True, help="start no engine process beside the web workers")


def check_port(host: str, port: int) -> None:
    """Stop with a hint when nothing can listen on host:port (before any set-up work)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as gunicorn binds
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(
                f"port {port} is in use on {host}: is another crux serve or crux demo running? "
                "Stop it, or choose another port with --port or CRUX_PORT") from None
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@click.command("serve")
@click.option("--port", type=int, help="the port to listen on (default CRUX_PORT or 8085)")
@click.option("--workers", type=int, help="gunicorn worker processes (default CRUX_WORKERS or 2)")
@NO_ENGINE
def serve(port: int | None, workers: int | None, no_engine: bool) -> None:
    """Serve the API with gunicorn (migrations are applied first), and an engine beside it."""
    from crux.store.migrate import upgrade
    config = settings()
    port = port or config.port
    check_port(config.host, port)
    url = database_url(config)
    upgrade(url, config.schema_dir)
    run(config, url, port, workers or config.workers, engine=not no_engine)


@click.command("demo")
@click.option("--port", type=int, help="the port to listen on (default CRUX_PORT or 8085)")
@click.option("--workers", type=int, help="gunicorn worker processes (default CRUX_WORKERS or 2)")
@click.option("--no-serve", is_flag=True, help="set up the demo realm and print the token, but do not serve")
@NO_ENGINE
def demo(port: int | None, workers: int | None, no_serve: bool, no_engine: bool) -> None:
    """Set up the demo realm (admin user, example rules and workflow), print a token, and serve."""
    from crux.cli.load import load_demo
    from crux.cli.realm import add_realm
    from crux.services.tokens import TokenVerifier
    config = settings()
    port = port or config.port
    if not no_serve:
        check_port(config.host, port)
    url = database_url(config)
    log.set_level("warn")  # the set-up's change lines would bury the token (they are in `changelog`)
    add_realm(config, url, DEMO_REALM, DEMO_ADMIN, "Crux demo realm")
    loaded = load_demo(config, url, DEMO_REALM, DEMO_ADMIN)
    log.set_level(config.log_level)
    tok = TokenVerifier(config).mint(DEMO_REALM, DEMO_ADMIN, 7 * 24 * 3600)
    click.echo(f"\nDemo realm '{DEMO_REALM}' is ready; user '{DEMO_ADMIN}' holds root and auth. {loaded}")
    click.echo(f"\nBearer token (valid 7 days):\n\n{tok}\n")
    click.echo("Try:\n")
    click.echo(f"  export TOKEN={tok}")
    click.echo(f"  curl -s -H \"Authorization: Bearer $TOKEN\" -d '{{}}' http://localhost:{port}/api/v1/realmslicelist\n")
    click.echo(f"API documentation: http://localhost:{port}/api/v1/docs\n")
    click.echo(f"Console (signs you in): http://localhost:{port}/console/#token={tok}\n")
    sys.stdout.flush()
    if not no_serve:
        run(config, url, port, workers or config.workers, engine=not no_engine)
