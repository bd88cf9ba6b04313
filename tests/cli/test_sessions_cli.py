"""``tether sessions`` with the real command: new, list, use, show, and a bad template as one clear line.
What it chooses is what the server's store captures into (the same files, the same counter)."""
from __future__ import annotations

import json
from pathlib import Path

from tether.engine.store import BurstStore


def test_sessions_new_list_use_show(run_tether, data_dir: Path) -> None:
    def tether(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return run_tether("--data-dir", str(data_dir), "sessions", *args, check=check)

    made = tether("new", "Acme shoes", "--client", "Acme", "--template", "{session}-{seq:03}")
    assert made.stdout.strip() == "created session Acme-shoes (current)"
    # the server's store on the same data dir now captures into it, from the shared counter
    store = BurstStore(data_dir)
    assert store.new_burst_path()[0] == "Acme-shoes-001"
    listed = tether("list").stdout.splitlines()
    assert listed[0].startswith("  default\t") and listed[1].startswith("* Acme-shoes\tAcme shoes\t0 stills, 0 bursts")
    assert "client Acme" in listed[1]

    assert tether("use", "default").stdout.strip() == "captures now land in session default"
    shown = json.loads(tether("show", "Acme-shoes", "--json").stdout)
    assert (shown["client"], shown["template"], shown["seq"]) == ("Acme", "{session}-{seq:03}", 2)
    assert Path(shown["folder"]) == data_dir.resolve() / "sessions" / "Acme-shoes"
    assert json.loads(tether("show", "--json").stdout)["id"] == "default"

    bad = tether("new", "Other", "--template", "{session}-{barcode}-{seq}", check=False)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "unknown token {barcode}" in bad.stderr and "{subject}" in bad.stderr
    # a session is chosen by the name it was given, accents and all, as well as by its id
    assert tether("new", "Café Müller", "--no-use").stdout.strip() == "created session Cafe-Muller"
    assert tether("use", "Café Müller").stdout.strip() == "captures now land in session Cafe-Muller"
    assert json.loads(tether("show", "café müller", "--json").stdout)["name"] == "Café Müller"
    tether("use", "default")
    missing = tether("use", "nope", check=False)
    assert missing.returncode == 1 and "no session 'nope'" in missing.stderr
    assert sorted(p.name for p in (data_dir / "sessions").iterdir()) == [".current", "Acme-shoes", "Cafe-Muller"]
