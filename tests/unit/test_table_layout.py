"""The findings grid prints exactly what rich's own Table prints for the same findings.

``report.FindingsGrid`` lays the scan table out faster than ``report.findings_table`` (a rich ``Table.grid``): with
a color system it yields the segments the Table yields, without one (a file, a pipe) it wraps the plain text itself
by rich's rules. Both must give the same bytes as the Table at every width, for any text: the generated findings mix
long words, runs of spaces, leading and trailing spaces, the non-ASCII characters edgemedic writes, wide and
combining characters, tabs and control codes (the last ones are laid out by rich, not by the plain wrapper).
"""
from __future__ import annotations

import dataclasses
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from edgemedic import report
from edgemedic.findings import Finding, Fix, FixClass, Severity

_PIECES = st.sampled_from([
    "a", "behavior", "/api/*", "origin", " ", "  ", "   ", "→", "—", "…", "x" * 37,
    "nnoiqrgeb8.execute-api.us-east-1.amazonaws.com", "403", '{"message":"Forbidden"}', "(AWS_IAM)",
    "中文", "e\u0301", "\t", "\u00a0", "\x07", "[bold]", "https://example.com/" + "p" * 90,
])
_TEXT = st.lists(_PIECES, max_size=24).map("".join)


@st.composite
def findings(draw: st.DrawFn) -> list[Finding]:
    out = []
    for i in range(draw(st.integers(1, 3))):
        out.append(Finding(
            rule=draw(st.sampled_from(["apigw-host-forwarded", "methods-blocked", "x" * 50])),
            severity=draw(st.sampled_from(list(Severity))),
            distribution="E2SHOP",
            behavior=draw(st.sampled_from(["", "*", "/api/*", "/very/long/" + "segment/" * 12 + "*"])),
            origin=draw(st.sampled_from(["", "users-api", "o" * 40])),
            message=draw(_TEXT), symptom=draw(_TEXT),
            fix=Fix(draw(st.sampled_from(list(FixClass))), draw(_TEXT)),
            evidence=tuple(draw(st.lists(_TEXT, max_size=3))),
            notes=tuple(draw(st.lists(_TEXT, max_size=2))),
        ))
    return out


def _printed(renderable: object, width: int, color_system: str | None) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, highlight=False, soft_wrap=False, color_system=color_system,
                      force_terminal=color_system is not None)
    console.print(renderable)
    return out.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings(), st.integers(1, 200))
def test_plain_grid_prints_what_the_table_prints(found: list[Finding], width: int) -> None:
    assert _printed(report.FindingsGrid(found), width, None) == _printed(report.findings_table(found), width, None)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(findings(), st.integers(1, 200), st.sampled_from(["truecolor", "256", "standard"]))
def test_colored_grid_prints_what_the_table_prints(found: list[Finding], width: int, colors: str) -> None:
    assert _printed(report.FindingsGrid(found), width, colors) == _printed(report.findings_table(found), width, colors)


_SAMPLES = [
    "Behavior /svc1/* forwards the viewer's Host header to API Gateway origin api1, which does not know that host",
    "Symptom: GET https://www0.bench.example.com/svc0/x signed for www0.bench.example.com returns 403 \"The request "
    "signature we calculated does not match the signature you provided\"",
    "a bb ccc dddd eeeee ffffff ggggggg hhhhhhhh iiiiiiiii jjjjjjjjjj " * 3,
    "  leading  and   inner   runs of  spaces   and trailing   ",
    "x" * 250 + " y " + "z" * 131,
    "behavior /api/* → origin users-api — 3 × … ‘quoted’ “twice”",
    "", " ", "word",
]


def test_plain_wrapper_wraps_as_rich_does_at_every_width() -> None:
    # Every width from 1 to 260 over texts whose words end exactly at, just before and just after a line's end.
    console = Console(file=io.StringIO(), width=300)
    for text in _SAMPLES:
        for width in range(1, 261):
            expected = [line.plain.ljust(width) for line in
                        Text(text).wrap(console, width, justify="left", overflow="fold")]
            assert report._wrap_plain(text, width) == expected, (text, width)


_SIMPLE = st.lists(st.sampled_from(["a", "bb", "ccc", "x" * 9, "y" * 23, " ", "  ", "     ", "→", "-", "/"]),
                   max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(_SIMPLE, st.integers(1, 40))
def test_plain_wrapper_wraps_generated_texts_as_rich_does(text: str, width: int) -> None:
    console = Console(file=io.StringIO(), width=300)
    expected = [line.plain.ljust(width) for line in Text(text).wrap(console, width, justify="left", overflow="fold")]
    assert report._wrap_plain(text, width) == expected
    # Both ways of finding the breaks agree (the line-by-line one is taken when the text starts with a word).
    if text and not text.startswith(" "):
        assert report._breaks(text, width) == report._word_breaks(text, width)


def test_plain_wrapper_handles_every_word_shape_the_catalog_texts_have() -> None:
    # The plain path is the one taken for files and pipes: check it is taken for an ordinary finding.
    finding = Finding(rule="apigw-host-forwarded", severity=Severity.HIGH, distribution="E1", behavior="/api/*",
                      origin="api", message="Behavior /api/* forwards the viewer's Host header → API Gateway",
                      symptom="403", fix=Fix(FixClass.AUTO, "Use AllViewerExceptHostHeader"))
    assert report._plain_lines(finding) is not None
    for behavior, origin in (("", ""), ("/api/*", ""), ("", "api"), ("*", "api")):
        where = dataclasses.replace(finding, behavior=behavior, origin=origin)
        assert report._where_plain(where) == report.where_text(where).plain
    assert not report._simple("a\tb") and not report._simple("中") and report._simple("a → b")
    assert report._wrap_plain("ab  cd", 3) == ["ab ", "cd "]
    assert report._wrap_plain("abcdefg", 3) == ["abc", "def", "g  "]
