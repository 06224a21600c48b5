#!/usr/bin/env python3
"""Open an ``edgemedic scan --format html`` page in headless Chromium and check that it renders: every
distribution's diagram is laid out (an SVG with a non-empty box), the failing edges are there, and the page logs no
console error and asks for nothing over the network.

    python3 dev.py run ... (or .venv/bin/python) scripts/check_html_report.py [REPORT.html]

Without a file it scans the seed stories on the embedded emulator and checks that page. Needs Debian's ``chromium``
(``apt-get install -y chromium``) or CHROMIUM=/path/to/chrome. Exit 0 when the page is fine, 1 when not, 2 when
there is no browser. tests/e2e/test_html_browser.py runs it when a browser is installed (CI installs one).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
         "--window-size=1280,2000")
# Runs before the page's own Content-Security-Policy (a <meta> guards only what comes after it) and records what the
# page did: errors, console.error calls, requests for anything, and the laid-out size of each diagram.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", e => __errors.push("error: " + e.message), true);
document.addEventListener("securitypolicyviolation", e => __errors.push("blocked: " + e.blockedURI));
const __consoleError = console.error;
console.error = (...args) => { __errors.push("console.error: " + args.join(" ")); __consoleError(...args); };
window.addEventListener("load", () => {
  const boxes = [...document.querySelectorAll("svg.diagram")].map(svg => {
    const r = svg.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)];
  });
  const requests = performance.getEntriesByType("resource").map(r => r.name);
  document.body.setAttribute("data-probe", JSON.stringify({
    errors: __errors, diagrams: boxes, failing: document.querySelectorAll("path.edge.fail").length,
    sections: document.querySelectorAll("section.dist[data-distribution]").length, requests}));
});
</script>"""


@dataclass
class Rendered:
    errors: list[str]
    diagrams: list[list[int]]
    failing: int
    sections: int
    requests: list[str]
    console: list[str]  # Chromium's own CONSOLE log lines

    def problems(self) -> list[str]:
        found = [*self.errors, *(f"console: {line}" for line in self.console)]
        found += [f"requested {url}" for url in self.requests]
        if not self.diagrams or len(self.diagrams) != self.sections:
            found.append(f"{len(self.diagrams)} diagram(s) for {self.sections} distribution(s)")
        found += [f"diagram {i} has no size ({w}x{h})" for i, (w, h) in enumerate(self.diagrams) if w < 100 or h < 50]
        return found


def browser() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") \
        or shutil.which("google-chrome")


def render(page: Path, chromium: str, *, timeout: float = 120) -> Rendered:
    """Load ``page`` (with the probe added, in a copy) in a fresh profile and read what the probe saw."""
    with tempfile.TemporaryDirectory(prefix="edgemedic-chromium-") as scratch:
        probed = Path(scratch) / "page.html"
        text = page.read_text(encoding="utf-8")
        probed.write_text(text.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
        profile = Path(scratch) / "profile"
        done = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", probed.as_uri()],
                              capture_output=True, text=True, timeout=timeout)
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"chromium did not render the page (exit {done.returncode}): {done.stderr[-2000:]}")
    seen = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return Rendered(seen["errors"], seen["diagrams"], seen["failing"], seen["sections"], seen["requests"], console)


def _seed_report(path: Path) -> None:
    from edgemedic import cli, scenarios
    from edgemedic.emulator import Emulator

    with Emulator() as emu:
        clients = emu.clients()
        scenarios.build(clients)
        cli.main(["scan", "--format", "html", "--output", str(path)], clients=clients)


def main(argv: list[str]) -> int:
    chromium = browser()
    if chromium is None:
        print("check_html_report: no chromium (apt-get install -y chromium, or set CHROMIUM)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        page = Path(argv[0]) if argv else Path(scratch) / "report.html"
        if not argv:
            _seed_report(page)
        rendered = render(page, chromium)
    problems = rendered.problems()
    for problem in problems:
        print(f"check_html_report: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_html_report: {len(rendered.diagrams)} diagrams rendered, {rendered.failing} failing edges, "
              "no console errors, no requests")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
