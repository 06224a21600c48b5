"""CloudFront path patterns: the one path matcher every rule (and ``edgemedic trace``) uses.

CloudFront's semantics (../shared/reference/aws-facts.md section 4, the DistributionConfig PathPattern docs):
- behaviors are tried in order and the first pattern that matches wins (not the longest); the default ``*`` last;
- ``*`` matches 0 or more characters and crosses ``/``; ``?`` matches exactly one character;
- matching is case-sensitive (``*.jpg`` does not match ``LOGO.JPG``);
- a leading ``/`` on the pattern is optional: ``api/*`` behaves as ``/api/*``;
- the query string is not part of the path.

    >>> matches("/api/*", "/api/users?x=1")
    True
    >>> covers("/api/*", "/api/v1/*")
    True
"""
from __future__ import annotations

import re
from functools import lru_cache

from . import automata
from .automata import ANY1, STAR, Language
from .model import Behavior, Distribution


def normalize_pattern(pattern: str) -> str:
    """The pattern with its optional leading ``/`` made explicit (``api/*`` -> ``/api/*``, ``*`` -> ``/*``)."""
    return pattern if pattern.startswith("/") else "/" + pattern


def viewer_path(path: str) -> str:
    """The part of a request target CloudFront matches: no query string, with a leading ``/``."""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return path if path.startswith("/") else "/" + path


def normalize_path(path: str) -> str:
    """The path CloudFront matches against patterns: ``//`` collapsed, ``.`` and ``..`` segments resolved (RFC 3986
    section 5.2.4), query string left out. The origin still receives the raw path.

    >>> normalize_path("/api//v1/./users/../items")
    '/api/v1/items'
    """
    raw = viewer_path(path)
    segments: list[str] = []
    parts = raw.split("/")[1:]
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        if segment == "..":
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        elif segment == "" and not last:
            continue
        else:
            segments.append(segment)
    return "/" + "/".join(segments)


@lru_cache(maxsize=4096)
def pattern_language(pattern: str) -> Language:
    """The pattern as an :mod:`edgemedic.automata` language over viewer paths."""
    tokens: list = []
    for ch in normalize_pattern(pattern):
        tokens.append(STAR if ch == "*" else ANY1 if ch == "?" else ch)
    collapsed: list = []
    for token in tokens:
        if token is STAR and collapsed and collapsed[-1] is STAR:
            continue  # "**" is "*"
        collapsed.append(token)
    return automata.concat(*[(t,) if t in (STAR, ANY1) else t for t in collapsed])


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in normalize_pattern(pattern)]
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: str, path: str) -> bool:
    """Whether CloudFront applies ``pattern`` to a request for ``path`` (query string ignored)."""
    return _regex(pattern).fullmatch(viewer_path(path)) is not None


def select_behavior(dist: Distribution, path: str) -> tuple[Behavior, tuple[Behavior, ...]]:
    """The behavior CloudFront picks for ``path`` and the behaviors it tried before (first match wins)."""
    for index, behavior in enumerate(dist.behaviors):
        if behavior.is_default or matches(behavior.path_pattern, path):
            return behavior, dist.behaviors[:index]
    return dist.default_behavior, dist.behaviors[:-1]


def _fixed_prefix(pattern: str) -> str:
    return automata.literal_prefix(pattern_language(pattern))


def _is_prefix_star(pattern: str) -> bool:
    """``/api/*``: a literal followed by one trailing ``*``."""
    language = pattern_language(pattern)
    return language[-1:] == (STAR,) and automata.is_literal(language[:-1])


@lru_cache(maxsize=16384)
def covers(earlier: str, later: str) -> bool:
    """Whether every path ``later`` matches is also matched by ``earlier`` (exact language inclusion).

    >>> covers("??*", "?*?"), covers("*.jpg", "/img/*.jpg"), covers("/img/*.jpg", "*.jpg")
    (True, True, False)
    """
    if _is_prefix_star(earlier):
        # Exact shortcut: every path of `later` starts with its literal prefix.
        return _fixed_prefix(later).startswith(_fixed_prefix(earlier))
    if not _fixed_prefix(later).startswith(_fixed_prefix(earlier)):
        # `later` can continue its literal prefix with a character `earlier` does not expect (or, when
        # `later`'s prefix is shorter, with any character after it): exact.
        return False
    return automata.includes(pattern_language(earlier), pattern_language(later))


@lru_cache(maxsize=16384)
def overlap(a: str, b: str) -> str | None:
    """A path both patterns match (shortest), or None when they are disjoint."""
    return automata.witness((pattern_language(a), pattern_language(b)))


def example_path(pattern: str, excluded: tuple[str, ...] = ()) -> str | None:
    """A path ``pattern`` matches and none of ``excluded`` does (None when there is none)."""
    return automata.witness((pattern_language(pattern),), tuple(pattern_language(p) for p in excluded))


def _position(dist: Distribution, behavior: Behavior) -> int:
    # Identity first: comparing frozen behaviors field by field is the slow path.
    for index, other in enumerate(dist.behaviors):
        if other is behavior:
            return index
    for index, other in enumerate(dist.behaviors):
        if other.path_pattern == behavior.path_pattern:
            return index
    raise ValueError(f"behavior {behavior.path_pattern} is not in distribution {dist.id}")


def earlier_patterns(dist: Distribution, behavior: Behavior) -> tuple[str, ...]:
    """Patterns of the behaviors CloudFront tries before ``behavior``."""
    return tuple(b.path_pattern for b in dist.behaviors[:_position(dist, behavior)])


def shadowed_by(dist: Distribution, behavior: Behavior) -> Behavior | None:
    """The first earlier behavior whose pattern matches every path ``behavior`` matches, if any.

    The default behavior is never shadowed in this sense (it is what applies when nothing else does).
    """
    if behavior.is_default:
        return None
    for other in dist.behaviors[:_position(dist, behavior)]:
        if covers(other.path_pattern, behavior.path_pattern):
            return other
    return None


def reaching_example(dist: Distribution, behavior: Behavior) -> str | None:
    """A viewer path that CloudFront sends to ``behavior`` (None when every path is taken earlier)."""
    pattern = "*" if behavior.is_default else behavior.path_pattern
    return example_path(pattern, earlier_patterns(dist, behavior))
