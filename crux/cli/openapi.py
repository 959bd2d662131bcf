"""`crux openapi write`: the API document."""
from __future__ import annotations

import json

import click


@click.group("openapi")
def openapi() -> None:
    """The API document."""


@openapi.command("write")
@click.argument("path", type=click.Path(dir_okay=False, writable=True), default="-")
def openapi_write(path: str) -> None:
    """Write the OpenAPI document (JSON) to PATH, or to stdout when PATH is - (the default)."""
    from crux.api import all_calls
    from crux.api.openapi import build_spec
    text = json.dumps(build_spec(all_calls()), indent=2)
    if path == "-":
        click.echo(text)
        return
    try:
        with open(path, "w") as f:
            f.write(text + "\n")
    except OSError as ex:
        raise click.ClickException(f"cannot write {path}: {ex.strerror or ex}") from None
