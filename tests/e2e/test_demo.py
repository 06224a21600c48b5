"""``edgemedic demo`` end to end: the whole story on the embedded emulator, in-process, without network."""
from __future__ import annotations

import re
import socket
import time

import pytest

from edgemedic import cli, scenarios


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test: the demo must run offline."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the demo tried to open a network connection: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.slow
def test_demo_tells_every_story_and_the_counts(no_network: None, capsys: pytest.CaptureFixture) -> None:
    started = time.monotonic()
    code = cli.main(["demo"])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    assert elapsed < 60
    assert "\x1b[" not in out  # NO_COLOR (conftest) and not a terminal

    positions = [out.index(story.title) for story in scenarios.STORIES]
    assert positions == sorted(positions), "stories are told in order"
    assert "Story 1: the API answers 403 Forbidden through CloudFront but works directly" in out

    # Before: 11 high + 2 medium; the auto fixes of four stories leave 5 high + 2 medium.
    assert "Findings before: 13 findings: 11 high, 2 medium. After the auto fixes: 7 findings: 5 high, 2 medium." \
        in out
    table = out[out.index("Findings by severity"):]
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"(critical|high|medium|low|total)\s*│\s*(\d+)\s*│\s*(\d+)", table)}
    assert rows == {"critical": (0, 0), "high": (11, 5), "medium": (2, 2), "low": (0, 0), "total": (13, 7)}

    assert out.count(": applied") == 4
    assert out.count(": nothing to do") == 2
    left = out[out.index("What is left for a person"):]
    for rule in ("origin-tls-name-mismatch", "behavior-shadowed", "apigw-path-unroutable", "apigw-iam-host-mismatch",
                 "apigw-edge-endpoint", "websocket-redirect-to-https"):
        assert rule in left, rule
    assert "apigw-host-forwarded" not in left
    assert "edgemedic fix --class approve" in left
