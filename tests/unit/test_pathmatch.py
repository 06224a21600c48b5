"""CloudFront path matching (aws-facts.md section 4) and exact pattern inclusion."""
from __future__ import annotations

import itertools
import re

import pytest

from builders import behavior, distribution, s3_origin
from edgemedic import automata
from edgemedic.pathmatch import (
    covers,
    example_path,
    matches,
    overlap,
    pattern_language,
    reaching_example,
    select_behavior,
    shadowed_by,
)


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/api/*", "/api/users", True),
        ("/api/*", "/api/", True),
        ("/api/*", "/api", False),  # the slash is literal
        ("/api/*", "/api/v1/users/7", True),  # * crosses /
        ("api/*", "/api/users", True),  # leading / optional on the pattern
        ("/api/*", "api/users", True),  # and on the path
        ("*.jpg", "/img/a/logo.jpg", True),
        ("*.jpg", "/LOGO.JPG", False),  # case-sensitive
        ("/API/*", "/api/users", False),
        ("images/*.jpg", "/images/product1/x.jpg", True),  # the AWS doc example
        ("*.doc?", "/a.docx", True),
        ("*.doc?", "/.doc", False),  # ? is exactly one character (AWS doc example)
        ("/v?/items", "/v1/items", True),
        ("/v?/items", "/v10/items", False),
        ("/v?/items", "/v/items", False),
        ("?x", "/x", False),  # "?x" is "/?x": the ? needs a character after the slash
        ("?x", "/ax", True),
        ("/api/*", "/api/users?next=/other", True),  # query string ignored
        ("/search", "/search?q=*", True),
        ("/search", "/search/", False),
        ("*", "/", True),
        ("*", "/anything/at/all", True),
        ("/a*b", "/ab", True),
        ("/a*b", "/a/x/b", True),
        ("/a*b", "/a/x/bc", False),
    ],
)
def test_matches(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ("??*", "?*?", True),
        ("?*?", "??*", True),  # the same language: both are "two characters or more after /"
        ("/api/*", "/api/v1/*", True),
        ("/api/v1/*", "/api/*", False),
        ("*.jpg", "/img/*.jpg", True),
        ("/img/*.jpg", "*.jpg", False),
        ("*", "/anything", True),
        ("api/*", "/api/*", True),  # leading slash optional on both
        ("/api/*", "api/*", True),
        ("/api*", "/api/*", True),
        ("/api/*", "/api*", False),  # /apis is not under /api/
        ("/API/*", "/api/*", False),  # case-sensitive
        ("/a*b", "/a*b*b", True),
        ("/a*b*b", "/a*b", False),  # /ab
        ("/*a*", "/*a*a*", True),
        ("/?", "/*", False),
        ("/*", "/?", True),
        ("/v?/*", "/v1/*", True),
        ("/v1/*", "/v?/*", False),
        ("/*/users", "/api/users", True),
        ("/api/users", "/*/users", False),
        ("/a?c", "/abc", True),
        ("/abc", "/a?c", False),
        ("*.json", "/api/*", False),
        ("/api/*", "/api/*.json", True),
        ("*.js*", "*.json", True),
        ("*.json", "*.js*", False),
        ("/x", "/x", True),
        ("/x", "/y", False),
    ],
)
def test_covers_is_exact(earlier: str, later: str, expected: bool) -> None:
    assert covers(earlier, later) is expected


def _brute_force_covers(earlier: str, later: str, alphabet: str = "ab/", max_len: int = 6) -> bool:
    for n in range(1, max_len + 1):
        for chars in itertools.product(alphabet, repeat=n - 1):
            path = "/" + "".join(chars)
            if matches(later, path) and not matches(earlier, path):
                return False
    return True


PATTERNS = ["*", "/a*", "/a/*", "?*?", "??*", "/*a", "*b", "/a?", "/?b", "/a*b", "/*a*b*", "/ab", "a/*", "/*/b",
            "/??", "/a*a*"]


@pytest.mark.parametrize(("earlier", "later"), list(itertools.permutations(PATTERNS, 2)))
def test_covers_agrees_with_brute_force(earlier: str, later: str) -> None:
    """Every ordered pair of a small pattern set, against enumeration of all short paths over {a, b, /}."""
    assert covers(earlier, later) is _brute_force_covers(earlier, later)


def test_examples_are_real_members() -> None:
    assert example_path("/api/*", ("/api/v1/*",)) == "/api/x"
    assert example_path("/api/*", ("/api/*",)) is None
    both = overlap("/api/*", "*.json")
    assert both == "/api/.json" and matches("/api/*", both) and matches("*.json", both)
    assert overlap("/api/*", "/img/*") is None


def _dist(*patterns: str):
    return distribution(origins=[s3_origin("site")], behaviors=[behavior(p, "site") for p in patterns])


def test_select_behavior_first_match_wins_not_longest() -> None:
    dist = _dist("/api/*", "/api/v1/*", "*.jpg")
    chosen, tried = select_behavior(dist, "/api/v1/users?x=1")
    assert chosen.path_pattern == "/api/*" and tried == ()
    chosen, tried = select_behavior(dist, "/img/logo.jpg")
    assert chosen.path_pattern == "*.jpg" and [b.path_pattern for b in tried] == ["/api/*", "/api/v1/*"]
    chosen, tried = select_behavior(dist, "/IMG/LOGO.JPG")
    assert chosen.is_default and len(tried) == 3


def test_shadowed_by_and_reaching_example() -> None:
    dist = _dist("/api/*", "/api/v1/*", "/img/*", "*.jpg", "/img/*.jpg")
    shadows = {b.path_pattern: (shadowed_by(dist, b) or b).path_pattern for b in dist.behaviors}
    assert shadows == {"/api/*": "/api/*", "/api/v1/*": "/api/*", "/img/*": "/img/*", "*.jpg": "*.jpg",
                       "/img/*.jpg": "/img/*", "*": "*"}
    assert reaching_example(dist, dist.behaviors[1]) is None
    assert reaching_example(dist, dist.behaviors[3]) == "/.jpg"
    assert reaching_example(dist, dist.default_behavior) == "/x"  # examples avoid a trailing "/" when they can


def test_witness_languages_with_templates() -> None:
    # /prod + viewer path under /api/*, landing on a {proxy+} template: the witness is a real API path.
    viewer = automata.concat("/prod", pattern_language("/api/*"))
    template = automata.concat("/prod/api/", (automata.GREEDY,))
    assert automata.witness((viewer, template)) == "/prod/api/x"
    assert automata.witness((viewer, automata.concat("/prod/users/", (automata.SEGMENT,)))) is None


def test_twenty_five_patterns_pairwise() -> None:
    patterns = [f"/svc{i}/*" for i in range(12)] + [f"*.ext{i}" for i in range(6)] + \
               [f"/v?/r{i}/*" for i in range(6)] + ["/??*"]
    covers.cache_clear()
    results = [covers(a, b) for a, b in itertools.permutations(patterns, 2)]
    # Only "/??*" covers others (every other pattern needs at least two characters after the first "/").
    assert sum(results) == 24
    assert all(covers("/??*", p) for p in patterns[:-1])
    hits = covers.cache_info().hits
    assert [covers(a, b) for a, b in itertools.permutations(patterns, 2)] == results
    assert covers.cache_info().hits == hits + len(results)  # the second pass is answered from the cache


def test_pattern_language_tokens() -> None:
    assert pattern_language("api/**.jpg") == ("/api/", automata.STAR, ".jpg")
    assert pattern_language("?x") == ("/", automata.ANY1, "x")
    assert re.fullmatch(r"/api/x", example_path("api/*") or "")
