"""Golden outputs of ``scan`` (json, sarif, table) and ``fix --dry-run`` on the seed stories and the generated
account, byte for byte. The goldens in tests/fixtures/scan_golden/ were written by the code before the scan was
made faster (issue 14); ``test_scan_golden.py`` checks that today's code still writes exactly the same.

Rewrite them only from a checkout whose output is known good (e.g. main, before a change that must not alter the
output), pointing PYTHONPATH at that checkout's layer::

    git archive main | tar -x -C /tmp/main-src
    PYTHONPATH=/tmp/main-src/layers/edgemedic .venv/bin/python tests/functional/scan_golden.py --write
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import sys
from pathlib import Path
from typing import Callable, Iterator

from moto.moto_api._internal import mock_random

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generated_account  # noqa: E402

from edgemedic import cli, scenarios  # noqa: E402
from edgemedic.emulator import Emulator  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "scan_golden"
SEED_STORIES = 7
COMMANDS = {
    "scan.json": ("scan", "--format", "json", "--fail-on", "never"),
    "scan.sarif": ("scan", "--format", "sarif", "--fail-on", "never"),
    "scan.table": ("scan", "--format", "table", "--fail-on", "never"),
    "fix-auto.txt": ("fix", "--dry-run", "--class", "auto"),
    "fix-approve.txt": ("fix", "--dry-run", "--class", "approve"),
}


def _seed(emu: Emulator) -> None:
    mock_random.seed(SEED_STORIES)
    scenarios.build(emu.clients())


ACCOUNTS: dict[str, Callable[[Emulator], object]] = {"seed": _seed, "generated": generated_account.build}


_GENERATED_AT = re.compile(r'"generated_at": "[^"]*"')


def run(clients: object, argv: tuple[str, ...]) -> str:
    """What the command writes, its one clock reading (the JSON metadata's generated_at) set to a fixed value."""
    out = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "120"  # off a terminal the width comes from COLUMNS: the same for every run
    try:
        with contextlib.redirect_stdout(out):
            cli.main(list(argv), clients=clients)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return _GENERATED_AT.sub('"generated_at": "(the time of the scan)"', out.getvalue())


def outputs(account: str) -> Iterator[tuple[str, str]]:
    """(golden file name, what today's code writes) for one account; the fixes are previews, nothing changes."""
    with Emulator() as emu:
        ACCOUNTS[account](emu)
        clients = emu.clients()
        for name, argv in COMMANDS.items():
            yield f"{account}-{name}.gz", run(clients, argv)


def read(name: str) -> str:
    return gzip.decompress((GOLDEN / name).read_bytes()).decode("utf-8")


def write() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for account in ACCOUNTS:
        for name, text in outputs(account):
            # mtime=0: the same output gives the same bytes
            (GOLDEN / name).write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
            print(f"{GOLDEN / name}: {len(text)} characters")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit(__doc__)
    write()
