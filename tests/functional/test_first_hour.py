"""The first hour at a terminal (issue 13): a wrong region, an endpoint that answers 404 or never answers, progress
on a terminal. Real HTTP servers on 127.0.0.1 stand in for the endpoints; the console script runs as a person runs it.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from edgemedic import cli, scenarios
from edgemedic.emulator import Emulator


def _run(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("edgemedic")
    command = [str(script)] if script.exists() else [shutil.which("edgemedic") or "edgemedic"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return subprocess.run([*command, *argv], capture_output=True, text=True, env={**base, **(env or {})},
                          timeout=timeout)


def test_unknown_region_is_one_line_exit_2_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: a call would fail differently
    done = _run("scan", "--region", "eu-west-1", "nowhere-1")
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith("edgemedic: error: unknown region 'nowhere-1': not a region of any AWS partition that "
                           "botocore ")
    assert line.endswith("knows (e.g. us-east-1, eu-west-1); check --region, or upgrade boto3 if the region is new")
    for command in (["fix", "--dry-run"], ["trace", "https://x.example/"]):
        done = _run(*command, "--region", "nowhere-1")
        assert done.returncode == 2 and "unknown region 'nowhere-1'" in done.stderr, command
    assert _run("scan", "--region", "cn-north-1", "--region", "us-gov-west-1").stderr.count("unknown region") == 0


class _NotFound(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<!DOCTYPE html>\n<html>\n<head><title>404 Not Found</title></head>\n<body>\n<h1>Not Found</h1>\n" \
               b"</body>\n</html>\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's names

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def not_found_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_endpoint_answering_404_says_which_endpoint_and_what_to_check(not_found_server: str) -> None:
    done = _run("scan", env={"AWS_ENDPOINT_URL": not_found_server})
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line == (f"edgemedic: cannot list CloudFront distributions: HTTP 404: {not_found_server} answered HTTP "
                    "404 to ListDistributions, not an AWS API answer: check AWS_ENDPOINT_URL (a proxy or a "
                    "wrong URL?) and that the service exists in that region")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_endpoint_that_never_answers_gives_up_in_bounded_time_with_one_line(silent_server: str) -> None:
    started = time.monotonic()
    done = _run("scan", "--read-timeout", "0.5", env={"AWS_ENDPOINT_URL": silent_server})
    elapsed = time.monotonic() - started
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line == (f"edgemedic: {silent_server}/2020-05-31/distribution gave no answer within 0.5 s on each of 3 "
                    "attempts while reading distributions: check the network, a proxy (HTTPS_PROXY) and "
                    "AWS_ENDPOINT_URL; --connect-timeout and --read-timeout set the limits")
    assert elapsed < 20  # 3 x 0.5 s plus botocore's backoff and the start-up; was 182 s of silence


def test_default_timeouts_are_bounded() -> None:
    clients = cli.make_clients(cli.build_parser().parse_args(["scan"]))
    config = clients.cloudfront().meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (3.0, 10.0, 3)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _scan_with_stderr(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, stderr: io.StringIO,
                      *argv: str) -> str:
    monkeypatch.setattr(sys, "stderr", stderr)
    monkeypatch.setattr(cli.ScanProgress, "DELAY", 0.0)  # the real one waits a second before showing anything
    monkeypatch.setenv("TERM", "xterm")
    with Emulator() as emu:
        clients = emu.clients()
        scenarios.build(clients)
        cli.main(["scan", "--format", "json", *argv], clients=clients)
    capsys.readouterr()
    return stderr.getvalue()


def test_progress_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    shown = _scan_with_stderr(monkeypatch, capsys, _Terminal())
    assert "reading: distributions 7/7" in shown
    assert "APIs 6" in shown


def test_no_progress_without_a_terminal_or_with_quiet(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture) -> None:
    assert _scan_with_stderr(monkeypatch, capsys, io.StringIO()) == ""
    assert _scan_with_stderr(monkeypatch, capsys, _Terminal(), "--quiet") == ""


# --------------------------------------------------------------------------------------------- 80 columns


def test_scan_table_at_80_columns_keeps_host_names_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgemedic import report

    monkeypatch.setenv("COLUMNS", "80")
    out = io.StringIO()
    with Emulator() as emu:
        clients = emu.clients()
        scenarios.build(clients)
        result = cli.run_scan(clients)
    report.render_table(report.make_console(out), result.findings, result.warnings, result.inventory.distributions)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out.getvalue()
    hosts = {d.domain_name for d in result.inventory.distributions}
    hosts |= {o.domain_name for d in result.inventory.distributions for o in d.origins}
    named = [h for h in hosts if any(h in line for line in lines)]
    assert len(named) >= 11  # the six distributions' domains and the API and load balancer hosts findings name
    for host in hosts:
        # a host the report names is on one line, whole: never cut, never broken across lines
        pieces = [line for line in lines if host[:12] in line]
        assert all(host in line for line in pieces), (host, pieces)


def test_rules_at_80_columns_show_whole_urls_and_the_remediation(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    from edgemedic.rules import RULES

    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["rules"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    flat = " ".join(out.split())
    for rule in RULES:
        assert f"  Docs: {rule.url}" in lines, rule.id
        assert f"Remediation: {' '.join(rule.remediation.split())}" in flat, rule.id
    assert all(len(line.rstrip()) <= 80 for line in lines if "Docs: " not in line)


def test_rules_on_a_terminal_are_hyperlinks() -> None:
    from rich.console import Console

    from edgemedic import report
    from edgemedic.rules import RULES

    out = io.StringIO()
    report.render_rules_table(Console(file=out, force_terminal=True, color_system="standard", width=80), RULES[:1])
    assert f"\x1b]8;id=" in out.getvalue() and f";{RULES[0].url}\x1b\\{RULES[0].url}" in out.getvalue()


# --------------------------------------------------------------------------------------------- JSON metadata


def test_json_scan_carries_metadata_beside_the_documented_keys(capsys: pytest.CaptureFixture) -> None:
    import json
    from datetime import datetime, timedelta, timezone

    from edgemedic import report

    with Emulator() as emu:
        clients = emu.clients()
        ids = scenarios.build(clients)
        before = datetime.now(timezone.utc).replace(microsecond=0)
        code = cli.main(["scan", "--format", "json", "--region", "ap-southeast-2"], clients=clients)
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert list(document) == ["findings", "warnings", "metadata"]  # the documented two first, unchanged
    metadata = document["metadata"]
    at = datetime.fromisoformat(metadata.pop("generated_at").replace("Z", "+00:00"))
    assert before <= at <= before + timedelta(minutes=1)
    assert metadata == {
        "edgemedic": report.version(),
        "catalog_version": 2,
        "accounts": ["123456789012"],  # moto's account, from the distributions' ARNs
        "regions": ["ap-southeast-2", "eu-west-1", "us-east-1"],  # asked for, and where the origins' APIs live
        "distributions": list(ids.values()),
    }


def test_fix_plans_at_80_columns_wrap_and_never_cut(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with Emulator() as emu:
        clients = emu.clients()
        ids = scenarios.build(clients, ["iam-signature"])
        assert cli.main(["fix", "--dry-run", "--distribution", ids["iam-signature"]], clients=clients) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert '+ "OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac (AllViewerExceptHostHeader)",' \
        in " ".join(out.split())
