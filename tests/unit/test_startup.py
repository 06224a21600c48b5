"""Commands that call no AWS import no AWS SDK, and ``--help`` needs neither rich nor the model (issue 14).
Times are measured in benchmarks/startup.py, not here: only what is imported is asserted."""
from __future__ import annotations

import json
import subprocess
import sys

from edgemedic import cli
from edgemedic.findings import FixClass, Severity

HEAVY = ("boto3", "botocore", "urllib3", "s3transfer")


def _imported_after(argv: list[str]) -> set[str]:
    code = ("import json, sys\n"
            "from edgemedic import cli\n"
            f"code = cli.main({argv!r})\n"
            "sys.stderr.write(json.dumps(sorted(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_neither_aws_nor_rich_nor_the_model():
    modules = _imported_after(["--help"])
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert not {m for m in modules if m.split(".")[0] == "rich"}
    assert "edgemedic.model" not in modules and "edgemedic.findings" not in modules


def test_rules_imports_no_aws_sdk():
    for argv in (["rules"], ["rules", "--format", "json"], ["rules", "--format", "markdown"]):
        modules = _imported_after(argv)
        assert "edgemedic.rules" in modules
        assert not {m for m in modules if m.split(".")[0] in HEAVY}, argv


def test_the_parser_offers_every_severity_and_fix_class():
    assert cli.SEVERITY_NAMES == tuple(s.value for s in Severity)
    assert set(cli.FIX_CLASS_NAMES) == {FixClass.AUTO.value, FixClass.APPROVE.value}
