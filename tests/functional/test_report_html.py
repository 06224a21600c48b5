"""``edgemedic scan --format html``: the page for the seed stories on the emulator, parsed (html.parser): one
diagram per distribution with its behaviors, origins and APIs, the failing edges linked to their findings, each
finding with its evidence, diff and before/after trace, and nothing loaded from anywhere.
(The page in a real browser: tests/e2e/test_html_browser.py.)"""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest

from edgemedic import cli, scenarios
from edgemedic.emulator import Emulator


class Page(HTMLParser):
    """Elements as (tag, attributes, the section's distribution), and the text of each finding's article."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self.articles: dict[str, list[str]] = {}
        self.styles: list[str] = []
        self._dist: str | None = None
        self._article: str | None = None
        self._in_style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-distribution" in values:
            self._dist = values["data-distribution"]
        if tag == "article":
            self._article = values["id"]
            self.articles[self._article] = []
        self._in_style = tag == "style"
        self.elements.append((tag, values, self._dist))

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._article = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._article:
            self.articles[self._article].append(data)
        if self._in_style:
            self.styles.append(data)

    def find(self, tag: str, cls: str | None = None, dist: str | None = None) -> list[dict[str, str]]:
        return [a for t, a, d in self.elements if t == tag and (cls is None or cls in a.get("class", "").split())
                and (dist is None or d == dist)]

    def text(self, article: str) -> str:
        return " ".join("".join(self.articles[article]).split())


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, dict[str, str], str]]:
    out = tmp_path_factory.mktemp("html") / "report.html"
    with Emulator() as emu:
        clients = emu.clients()
        ids = scenarios.build(clients)
        code = cli.main(["scan", "--format", "html", "--output", str(out)], clients=clients)
    assert code == 1  # findings at or above low, as with every format
    text = out.read_text(encoding="utf-8")
    yield Page(text), ids, text


def test_one_self_contained_file_that_loads_nothing(page) -> None:
    parsed, _, text = page
    assert text.startswith("<!DOCTYPE html>")
    assert not parsed.find("script") and not parsed.find("link") and not parsed.find("img")
    assert not parsed.find("iframe") and not parsed.find("object")
    assert all(not attrs.get("src") for _, attrs, _ in parsed.elements)
    css = "".join(parsed.styles)
    assert "url(" not in css and "@import" not in css
    [csp] = [a for a in parsed.find("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp["content"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    links = {attrs["href"] for tag, attrs, _ in parsed.elements if tag == "a"}
    assert all(h.startswith("#") or h.startswith("https://") for h in links)  # anchors, and docs a click opens


def test_a_diagram_per_distribution_with_behaviors_origins_and_apis(page) -> None:
    parsed, ids, _ = page
    assert [s["data-distribution"] for s in parsed.find("section") if "data-distribution" in s] == list(ids.values())
    for name, dist_id in ids.items():
        assert len(parsed.find("svg", "diagram", dist_id)) == 1, name
    nodes = {name: [g["data-key"] for g in parsed.find("g", "node", dist_id)] for name, dist_id in ids.items()}
    forbidden = nodes["forbidden"]
    assert [k for k in forbidden if k.startswith("b:")] == ["b:/api/*", "b:*"]  # CloudFront's order
    assert {k for k in forbidden if k.startswith("o:")} == {"o:users-api", "o:site"}
    [api] = [k for k in forbidden if k.startswith("api:")]
    assert api.startswith("api:eu-west-1:") and api.endswith(":prod")  # the API and the stage OriginPath names
    ws = [k for k in nodes["websocket"] if k.startswith("api:")]
    assert len(ws) == 1 and ws[0].endswith(":production")


def test_failing_edges_are_marked_and_link_to_their_findings(page) -> None:
    parsed, ids, _ = page
    expected = {  # rules on the failing edges of each story
        "forbidden": {"apigw-host-forwarded, apigw-path-unroutable"},
        "iam-signature": {"apigw-auth-header-dropped, apigw-iam-host-mismatch", "apigw-edge-endpoint"},
        "get-only-cached": {"apigw-methods-blocked, apigw-response-cached", "behavior-shadowed"},
        "websocket": {"apigw-path-unroutable, apigw-response-cached, websocket-handshake-dropped, "
                      "websocket-redirect-to-https"},
        "alb-tls": {"origin-tls-name-mismatch"},
        "spa-fallback": {"apigw-identity-header-dropped, custom-error-masks-api"},
        "clean": set(),
    }
    articles = {a["id"]: a["data-rule"] for a in parsed.find("article")}
    for name, dist_id in ids.items():
        failing = parsed.find("path", "fail", dist_id)
        assert {p["data-rules"] for p in failing} == expected[name], name
        links = [a["href"] for t, a, d in parsed.elements if t == "a" and d == dist_id and "fail-link" in
                 a.get("class", "")]
        assert len(links) == len(failing)
        for href, path in zip(links, failing):
            assert articles[href[1:]] == path["data-rules"].split(", ")[0]  # the edge links to its first finding


def test_each_finding_with_evidence_fix_diff_and_trace(page) -> None:
    parsed, ids, _ = page
    articles = parsed.find("article")
    assert len(articles) == 15
    host = next(a["id"] for a in articles if a["data-rule"] == "apigw-host-forwarded")
    text = parsed.text(host)
    assert "Fix (auto)Use origin request policy AllViewerExceptHostHeader on behavior /api/*" in text
    assert "Evidenceorigin request policy AllViewer forwards Host" in text
    assert "Tracebefore: GET /api/x -> 403 (API Gateway: Forbidden)after: -> 403 (API Gateway: Missing " \
           "Authentication Token)" in text
    assert '- "OriginRequestPolicyId": "216adef6-5c7f-47e4-b989-5492eafa07d3 (AllViewer)",' in text
    assert '+ "OriginRequestPolicyId": "b689b0a8-53d0-40ab-baf2-68738e2966ac (AllViewerExceptHostHeader)",' in text
    alb = next(a["id"] for a in articles if a["data-rule"] == "origin-tls-name-mismatch")
    assert "after: -> reaches origin shop-web-alb" in parsed.text(alb)
    unroutable = [a["id"] for a in articles if a["data-rule"] == "apigw-path-unroutable"]
    assert all("Diff" not in parsed.text(i) and "Change to make" in parsed.text(i) for i in unroutable)  # manual
    adds = parsed.find("span", "add")
    assert adds and parsed.find("span", "del")


def test_html_without_output_file_goes_to_stdout(capsys, tmp_path: Path) -> None:
    with Emulator() as emu:
        clients = emu.clients()
        scenarios.build(clients, ["clean"])
        assert cli.main(["scan", "--format", "html"], clients=clients) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and "no findings" in out
