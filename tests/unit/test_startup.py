"""Commands that call no AWS import no AWS SDK, ``--help`` needs neither rich nor the model, and ``rules`` lists the
catalog without the router, the path automata or the collectors its checks use (issue 14). Times are measured in
benchmarks/startup.py, not here: only what is imported is asserted."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from edgemedic import cli
from edgemedic.findings import FixClass, Severity

TESTS = Path(__file__).resolve().parents[1]
HEAVY = ("boto3", "botocore", "urllib3", "s3transfer")


# Modules a command does not need and would pay for: the checks' path matching (router -> collect.origins ->
# the collect package), the installed-version lookup, logging (only --debug logs).
NOT_FOR_RULES = ("edgemedic.router", "edgemedic.pathmatch", "edgemedic.automata", "edgemedic.collect",
                 "edgemedic.engine", "edgemedic.plan", "importlib.metadata", "logging")


def _imported_after(argv: list[str]) -> set[str]:
    """The modules whose code ran: a module edgemedic.lazy registered but nothing used yet is not counted
    (``type()`` does not trigger a lazy module's load, an attribute would)."""
    code = ("import json, sys\n"
            "from edgemedic import cli\n"
            f"code = cli.main({argv!r})\n"
            "loaded = [n for n, m in sys.modules.items() if type(m).__name__ != '_LazyModule']\n"
            "sys.stderr.write(json.dumps(sorted(loaded)))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_neither_aws_nor_rich_nor_the_model():
    modules = _imported_after(["--help"])
    assert not {m for m in modules if m.split(".")[0] in HEAVY}
    assert not {m for m in modules if m.split(".")[0] == "rich"}
    assert "edgemedic.model" not in modules and "edgemedic.findings" not in modules


def test_rules_imports_no_aws_sdk_and_none_of_what_the_checks_use():
    for argv in (["rules"], ["rules", "--format", "json"], ["rules", "--format", "markdown"]):
        modules = _imported_after(argv)
        assert "edgemedic.rules" in modules and "edgemedic.rules.routing" in modules
        assert not {m for m in modules if m.split(".")[0] in HEAVY}, argv
        assert not {m for m in modules if m in NOT_FOR_RULES or m.startswith("edgemedic.collect.")}, argv


def test_the_checks_load_the_router_when_they_run():
    """The rules reach the router through edgemedic.lazy: the first check loads it, and routing findings come."""
    code = ("import sys\n"
            f"sys.path.insert(0, {str(TESTS)!r})\n"
            "from builders import api_origin, behavior, distribution, inventory, rest_api, s3_origin\n"
            "from edgemedic import engine, rules\n"
            "dist = distribution(origins=[s3_origin('site'), api_origin('api', 'r1e2s3t4a5', path='/prod')],\n"
            "                    behaviors=[behavior('/api/*', 'api'), behavior('*', 'site')])\n"
            "inv = inventory(dist, apis=[rest_api('r1e2s3t4a5', resources={'/test': ['GET']})])\n"
            "print(type(sys.modules['edgemedic.router']).__name__)\n"
            "print(sorted({f.rule for f in engine.scan(inv)}))\n"
            "print(type(sys.modules['edgemedic.router']).__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, rules, router_type = done.stdout.splitlines()[-3:]
    assert before == "_LazyModule"
    assert "apigw-path-unroutable" in rules
    assert router_type == "module"


def test_the_parser_offers_every_severity_and_fix_class():
    assert cli.SEVERITY_NAMES == tuple(s.value for s in Severity)
    assert set(cli.FIX_CLASS_NAMES) == {FixClass.AUTO.value, FixClass.APPROVE.value}
