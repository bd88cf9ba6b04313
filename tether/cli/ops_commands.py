"""Commands for setting up a studio machine: `tether udev-rules` and `tether doctor`."""
from __future__ import annotations

import json

import click

from tether.cli.context import AppContext, pass_app
from tether.config import ConfigError, Settings, default_config_path


@click.command("udev-rules")
@click.option("--group", default="plugdev", show_default=True, help="group whose members may use the cameras")
def udev_rules(group: str) -> None:
    """Print udev rules granting GROUP every USB camera libgphoto2 supports (plus any PTP camera)."""
    from tether.ops.udev_rules import check_group, generate_rules, group_exists

    check_group(group)
    text = generate_rules(group)
    if not group_exists(group):
        click.echo(
            f"tether: note: group {group!r} does not exist on this machine (create it: sudo groupadd {group})", err=True
        )
    click.echo(text, nl=False)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_app
def doctor(app: AppContext, as_json: bool) -> None:
    """Check that tethering can work here: libgphoto2, cameras, USB access, programs holding a camera,
    the data dir, the config and the port. Exits 1 when something blocks tethering."""
    from tether.ops import doctor as checks

    error: ConfigError | None
    try:
        settings, error = app.settings(), None
    except ConfigError as exc:
        error = exc
        # carry on with the defaults so the other checks still tell what they can
        settings = Settings().with_overrides({"paths": {"data_dir": app.data_dir}} if app.data_dir else {})
    config_check = checks.check_config(settings, error, default_config_path())
    report = checks.run_checks(settings, config_check)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        for check in report.checks:
            click.echo(check.line())
        click.echo(
            "tethering is blocked: fix the FAIL lines above"
            if report.blocking
            else "ready to tether"
            + (" (see the WARN lines)" if any(c.status.value == "WARN" for c in report.checks) else "")
        )
    if report.blocking:
        raise SystemExit(1)


COMMANDS = [udev_rules, doctor]
