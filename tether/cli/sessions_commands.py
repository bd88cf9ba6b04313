"""``tether sessions``: list, create, choose and show the sessions captures land in (no camera needed).

The same catalogue as the server's (tether.engine.sessions): a session chosen here is where the
running server's next capture lands, and the counter is shared, so no name is handed out twice.
"""
from __future__ import annotations

import json

import click

from tether.cli.context import AppContext, pass_app
from tether.engine.naming import DEFAULT_TEMPLATE, TOKENS
from tether.engine.sessions import DEFAULT, Session
from tether.engine.store import BurstStore


def _store(app: AppContext) -> BurstStore:
    return BurstStore(app.settings().data_dir)


def _counts(store: BurstStore, session: Session) -> dict[str, int]:
    return {"bursts": len(store.burst_ids(session.id)), "stills": len(store.stills(session.id))}


@click.group()
def sessions() -> None:
    """Sessions: folders of stills and bursts named from a template."""


@sessions.command("list", short_help="Every session; * marks the current one.")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_app
def list_sessions(app: AppContext, as_json: bool) -> None:
    """Every session, newest first; * marks the one captures land in."""
    store = _store(app)
    current = store.sessions.current().id
    rows = [{**s.to_dict(), **_counts(store, s), "current": s.id == current} for s in store.sessions.list()]
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    for row in rows:
        client = f"  client {row['client']}" if row["client"] else ""
        click.echo(f"{'*' if row['current'] else ' '} {row['id']}\t{row['name']}\t"
                   f"{row['stills']} stills, {row['bursts']} bursts{client}")


@sessions.command(short_help="Create a session and make it current.")
@click.argument("name")
@click.option("--client", default="", help="who the shoot is for")
@click.option("--notes", default="", help="anything to remember about it")
@click.option("--template", default=DEFAULT_TEMPLATE, show_default=True,
              help="how captures are named; tokens: " + ", ".join(f"{{{t}}}" for t in TOKENS))
@click.option("--no-use", is_flag=True, help="create it without making it current")
@pass_app
def new(app: AppContext, name: str, client: str, notes: str, template: str, no_use: bool) -> None:
    """Create session NAME (a folder in the data dir) and, unless --no-use, make it current."""
    catalogue = _store(app).sessions
    session = catalogue.create(name, client=client, notes=notes, template=template)
    if not no_use:
        catalogue.use(session.id)
    click.echo(f"created session {session.id}{'' if no_use else ' (current)'}")


@sessions.command(short_help="Make a session current.")
@click.argument("session")
@pass_app
def use(app: AppContext, session: str) -> None:
    """Make SESSION (its id or its name) the session captures land in ('default': the data from before sessions)."""
    catalogue = _store(app).sessions
    chosen = catalogue.use(catalogue.find(session).id)
    click.echo(f"captures now land in session {chosen.id}")


@sessions.command(short_help="One session's details (default: the current one).")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_app
def show(app: AppContext, name: str | None, as_json: bool) -> None:
    """Name, client, notes, naming template, counter and contents of session NAME (its id or its name;
    default: the current one)."""
    store = _store(app)
    session = store.sessions.find(name) if name else store.sessions.current()
    # the CLI runs where the files are: saying where they are helps (the web API never does)
    folder = store.bursts_dir.parent if session.id == DEFAULT else store.sessions.folder(session.id)
    facts = {**session.to_dict(), **_counts(store, session), "folder": str(folder)}
    if as_json:
        click.echo(json.dumps(facts, indent=1))
        return
    for key in ("id", "name", "client", "notes", "template", "subject", "seq", "stills", "bursts", "folder"):
        if facts[key] != "":
            click.echo(f"{'next seq' if key == 'seq' else key:<9} {facts[key]}")


COMMANDS = [sessions]
