"""`crux engine`: an engine process (SPEC §8.5): expiry sweeps and webhook deliveries beside the
web workers (crux/background/engine.py). `crux serve` and `crux demo` start one unless given
`--no-engine`; any number may run against one database."""
from __future__ import annotations

import click

from crux.cli.shared import database_url, settings


@click.command("engine")
@click.option("--name", help="the engine's name in wfenginelist (default: host:pid)")
@click.option("--exit-with-parent", type=int, hidden=True,
              help="stop as soon as process PID is no longer this one's parent (crux serve's own engine)")
def engine(name: str | None, exit_with_parent: int | None) -> None:
    """Run an engine until SIGTERM or SIGINT: expiry sweeps (deadlines, lapsed leases) and webhook
    deliveries. It beats every CRUX_ENGINE_BEAT seconds; one silent for three beats is dead."""
    from crux.background.engine import run_engine
    from crux.common import log
    from crux.store.migrate import upgrade
    config = settings()
    url = database_url(config)
    if exit_with_parent is None:        # crux serve's own engine: serve has just upgraded
        upgrade(url, config.schema_dir)
    log.set_level(config.log_level)
    log.set_stream("stdout")       # a long-running process's log lines go to stdout, as a server's
    run_engine(config, url, name, watch_parent=exit_with_parent)
