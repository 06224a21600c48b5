"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` package; .ci/run installs it) opens
the page of the seed stories; every diagram is laid out, nothing logs an error, nothing is requested.
scripts/check_html_report.py does the work (it is also the documented way to check a page by hand). Skipped where
no browser is installed."""
from __future__ import annotations

from pathlib import Path

import pytest

from builders import load_script

check = load_script("check_html_report")

CHROMIUM = check.browser()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install -y chromium)")]


def test_the_report_renders_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    check._seed_report(page)
    rendered = check.render(page, CHROMIUM)
    assert rendered.problems() == []
    assert rendered.sections == 7 and len(rendered.diagrams) == 7
    assert all(width >= 800 for width, _ in rendered.diagrams)
    assert rendered.failing == 8


def test_the_check_sees_errors_requests_and_missing_diagrams(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src '
                    "'none'\"></head><body><section class=\"dist\" data-distribution=\"E1\"></section>"
                    '<img src="https://example.com/x.png"></body></html>')
    problems = check.render(page, CHROMIUM).problems()
    assert "blocked: https://example.com/x.png" in problems
    assert "0 diagram(s) for 1 distribution(s)" in problems
