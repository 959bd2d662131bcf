"""The `crux` command line (SPEC §7): one module per command group.

    crux db upgrade                         database.py
    crux realm add, crux token              realm.py
    crux serve, crux demo                   serve.py
    crux engine                             engine.py
    crux openapi write                      openapi.py
    crux rules check|eval                   rules.py   (offline: files only; ruledocs.py reads them)
    crux load                               load.py    (also loads the demo's examples)
    crux workflow graph                     workflow.py
    crux history prune, crux changelog prune   retention.py
    crux events tail                        events.py

A new command group is a module here holding one click group (or command), added to COMMANDS
below. Modules import the web, service and store layers inside their commands, so `crux --help`
and the offline rule tools start without them (tested).
"""
from __future__ import annotations

import click

from crux.cli import database, engine, events, load, openapi, realm, retention, rules, serve, workflow
from crux.common import log

COMMANDS: list[click.Command] = [
    database.db, realm.realm, realm.token, serve.serve, serve.demo, engine.engine, openapi.openapi,
    rules.rules, load.load_command, workflow.workflow, retention.history, retention.changelog,
    events.events,
]


@click.group()
@click.version_option(package_name="crux", prog_name="crux")
def cli() -> None:
    """Crux: business rules and workflows as a service."""
    # A command's own output goes to stdout; log lines (changes, warnings, defects) to stderr.
    # `crux serve` and `crux demo` switch them back to stdout when they start serving.
    log.set_stream("stderr")
    log.capture_python_logging()


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="crux")
