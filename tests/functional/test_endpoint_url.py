"""The installed `edgemedic` command against any endpoint through AWS_ENDPOINT_URL (issue 2).

A real moto server on 127.0.0.1 stands in for AWS; the seed stories are built on it with plain boto3 (no emulator
hooks: the server is moto as it is), and the console script runs as a separate process, as a person would run it.
moto's server returns ForwardedValues beside a CachePolicyId, which the collector must normalise; it has no policy
APIs, so the stories use managed policies only (known from edgemedic's table, no call needed).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from edgemedic import scenarios
from edgemedic.aws import Clients

STORIES = ("forbidden", "get-only-cached", "clean")


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto's backends are global to the process: start each test from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"), timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _edgemedic() -> list[str]:
    script = Path(sys.executable).with_name("edgemedic")
    return [str(script)] if script.exists() else [shutil.which("edgemedic") or "edgemedic"]


def _run(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([*_edgemedic(), *argv], capture_output=True, text=True, env=env, timeout=120)


def test_scan_through_aws_endpoint_url(moto_server: str) -> None:
    ids = scenarios.build(Clients.from_environment(region="us-east-1"), list(STORIES))

    done = _run("scan", "--format", "json", "--region", "eu-west-1")

    assert done.returncode == 1, done.stderr  # findings at or above the default --fail-on low
    document = json.loads(done.stdout)
    found: dict[str, list[str]] = {dist_id: [] for dist_id in ids.values()}
    for finding in document["findings"]:
        found[finding["distribution"]].append(finding["rule"])
    assert {name: sorted(found[dist_id]) for name, dist_id in ids.items()} == {
        "forbidden": ["apigw-host-forwarded", "apigw-path-unroutable"],
        "get-only-cached": ["apigw-methods-blocked", "apigw-response-cached", "behavior-shadowed"],
        "clean": [],
    }


def test_fix_through_aws_endpoint_url_then_rescan(moto_server: str) -> None:
    """The auto fixes land on the moto server (which answers configs in its own shape: see edgemedic.shape)."""
    ids = scenarios.build(Clients.from_environment(region="us-east-1"), list(STORIES))

    done = _run("fix", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 applied, 1 nothing to do" in done.stdout

    rescan = json.loads(_run("scan", "--format", "json").stdout)
    left = {dist_id: sorted(f["rule"] for f in rescan["findings"] if f["distribution"] == dist_id)
            for dist_id in ids.values()}
    assert {name: left[dist_id] for name, dist_id in ids.items()} == {
        "forbidden": ["apigw-path-unroutable"], "get-only-cached": ["behavior-shadowed"], "clean": []}


def test_unreachable_endpoint_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing listens
    done = _run("scan")
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line == ("edgemedic: cannot list CloudFront distributions: EndpointConnectionError: Could not connect to "
                    'the endpoint URL: "http://127.0.0.1:9/2020-05-31/distribution" (check the network, '
                    "AWS_ENDPOINT_URL and the region)")
