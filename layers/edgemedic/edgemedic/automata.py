"""Exact questions about path languages: inclusion, intersection, and a witness path.

CloudFront path patterns (``/api/*.jpg``, ``?``) and API Gateway templates (``/items/{id}``, ``/{proxy+}``) are
regular languages. A language here is a tuple of tokens: literal strings and the markers below. Questions are
answered on the product of small NFAs, determinised on the fly (subset construction) over a finite alphabet: the
literal characters of the languages involved, plus one symbol standing for every other character (all such
characters behave alike for every language involved, so the answers are exact).

    witness(positives=(pattern_language("/api/*"),), negatives=(pattern_language("/api/v1/*"),))  -> "/api/x"

Results are memoised: languages are hashable tuples.
"""
from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Iterable, Sequence


class Marker:
    """A non-literal token of a language."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self) -> str:  # markers are module singletons
        return self.name


STAR = Marker("STAR")  # any string, "/" included (CloudFront *)
ANY1 = Marker("ANY1")  # exactly one character (CloudFront ?)
SEGMENT = Marker("SEGMENT")  # one or more characters other than "/" (API Gateway {param})
GREEDY = Marker("GREEDY")  # one or more characters, "/" included (API Gateway {proxy+})
OPT_SLASH = Marker("OPT_SLASH")  # "" or "/"
OPT_TAIL = Marker("OPT_TAIL")  # "" or "/" followed by anything (a path prefix ends at a segment boundary)

Token = str | Marker
Language = tuple[Token, ...]

_ANY = "\x00any"  # transition labels besides single characters
_NOT_SLASH = "\x00notslash"
_OTHER = "\x00"  # the alphabet symbol for "a character no language names"
_EXAMPLE_CHARS = "xyzabcdefghijklmnopqrstuvw0123456789"


def literal_prefix(language: Language) -> str:
    """The literal text every member of ``language`` starts with."""
    out = []
    for token in language:
        if isinstance(token, Marker):
            break
        out.append(token)
    return "".join(out)


def _literal_chars(language: Language) -> set[str]:
    return {ch for token in language if not isinstance(token, Marker) for ch in token}


def is_literal(language: Language) -> bool:
    return not any(isinstance(token, Marker) for token in language)


class _Nfa:
    """An NFA with epsilon closures folded into its transitions; state sets are bit masks."""

    __slots__ = ("start", "accept", "char_next", "any_next", "notslash_next", "universal", "_steps")

    def __init__(self, language: Language) -> None:
        edges: list[list[tuple[str, int]]] = [[]]
        eps: list[list[int]] = [[]]

        def new() -> int:
            edges.append([])
            eps.append([])
            return len(edges) - 1

        cur = 0
        for token in language:
            if not isinstance(token, Marker):
                for ch in token:
                    nxt = new()
                    edges[cur].append((ch, nxt))
                    cur = nxt
            elif token is STAR:
                loop = new()
                eps[cur].append(loop)
                edges[loop].append((_ANY, loop))
                cur = loop
            elif token is ANY1:
                nxt = new()
                edges[cur].append((_ANY, nxt))
                cur = nxt
            elif token is SEGMENT or token is GREEDY:
                label = _NOT_SLASH if token is SEGMENT else _ANY
                nxt = new()
                edges[cur].append((label, nxt))
                edges[nxt].append((label, nxt))
                cur = nxt
            elif token is OPT_SLASH:
                nxt = new()
                edges[cur].append(("/", nxt))
                eps[cur].append(nxt)
                cur = nxt
            elif token is OPT_TAIL:
                tail, end = new(), new()
                edges[cur].append(("/", tail))
                edges[tail].append((_ANY, tail))
                eps[cur].append(end)
                eps[tail].append(end)
                cur = end
            else:  # pragma: no cover - a new marker without a case here
                raise ValueError(f"unknown token {token!r}")
        accept_state = cur

        closures = []
        for state in range(len(edges)):
            seen, todo = {state}, [state]
            while todo:
                for nxt in eps[todo.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            closures.append(sum(1 << s for s in seen))

        def closure_of(state: int) -> int:
            return closures[state]

        n = len(edges)
        self.char_next: list[dict[str, int]] = [{} for _ in range(n)]
        self.any_next = [0] * n
        self.notslash_next = [0] * n
        for state in range(n):
            for label, target in edges[state]:
                mask = closure_of(target)
                if label == _ANY:
                    self.any_next[state] |= mask
                elif label == _NOT_SLASH:
                    self.notslash_next[state] |= mask
                else:
                    self.char_next[state][label] = self.char_next[state].get(label, 0) | mask
        self.start = closure_of(0)
        self.accept = 1 << accept_state
        # A state that loops on every character and accepts: from it every continuation is accepted.
        self.universal = sum(
            1 << s for s in range(n)
            if self.any_next[s] & (1 << s) and closures[s] & self.accept
        )
        self._steps: dict[tuple[int, str], int] = {}

    def step(self, mask: int, symbol: str) -> int:
        key = (mask, symbol)
        cached = self._steps.get(key)
        if cached is not None:
            return cached
        out, state, bits = 0, 0, mask
        while bits:
            if bits & 1:
                out |= self.any_next[state] | self.char_next[state].get(symbol, 0)
                if symbol != "/":
                    out |= self.notslash_next[state]
            bits >>= 1
            state += 1
        self._steps[key] = out
        return out

    def accepts(self, text: str) -> bool:
        mask = self.start
        for ch in text:
            mask = self.step(mask, ch)
            if not mask:
                return False
        return bool(mask & self.accept)


@lru_cache(maxsize=4096)
def _nfa(language: Language) -> _Nfa:
    return _Nfa(language)


def member(language: Language, text: str) -> bool:
    """Whether ``text`` is in ``language``."""
    return _nfa(language).accepts(text)


def _compatible(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def witness(positives: Sequence[Language], negatives: Sequence[Language] = ()) -> str | None:
    """A shortest string in every positive language and in no negative one, or None when there is none.

    Prefers a string that does not end in "/" (a nicer example path) when one exists.
    """
    return _witness(tuple(positives), tuple(negatives))


@lru_cache(maxsize=65536)
def _witness(positives: tuple[Language, ...], negatives: tuple[Language, ...]) -> str | None:
    # Exact prefilters: incompatible literal prefixes mean an empty intersection; a negative that is a prefix
    # followed only by "*" removes everything that starts with it.
    prefixes = [literal_prefix(p) for p in positives]
    longest = max(prefixes, key=len, default="")
    if any(not longest.startswith(p) for p in prefixes):
        return None
    kept_negatives = []
    for negative in negatives:
        prefix = literal_prefix(negative)
        if not _compatible(prefix, longest):
            continue  # disjoint from the positives: removes nothing
        if negative[len(negative) - 1:] == (STAR,) and is_literal(negative[:-1]) and longest.startswith(prefix):
            return None
        kept_negatives.append(negative)
    if positives and is_literal(positives[0]):
        text = "".join(positives[0])  # a literal positive has one member: test it directly
        ok = all(member(p, text) for p in positives[1:]) and not any(member(n, text) for n in kept_negatives)
        return text if ok else None

    pos = [_nfa(p) for p in positives]
    neg = [_nfa(n) for n in kept_negatives]
    chars: set[str] = {"/"}
    for language in (*positives, *kept_negatives):
        chars |= _literal_chars(language)
    alphabet = [_OTHER] + sorted(chars)  # "other" first: examples read /api/x, not /api/1
    other_char = next((c for c in _EXAMPLE_CHARS if c not in chars), "~")

    def dead(pmasks: tuple[int, ...], nmasks: tuple[int, ...]) -> bool:
        return any(not m for m in pmasks) or any(m & n.universal for m, n in zip(nmasks, neg))

    start = (tuple(n.start for n in pos), tuple(n.start for n in neg), False)
    if dead(start[0], start[1]):
        return None
    parents: dict[tuple, tuple[tuple, str] | None] = {start: None}
    queue = deque([start])
    fallback = None
    while queue:
        node = queue.popleft()
        pmasks, nmasks, ends_clean = node
        if all(m & n.accept for m, n in zip(pmasks, pos)) and not any(m & n.accept for m, n in zip(nmasks, neg)):
            if ends_clean:
                return _spell(parents, node, other_char)
            if fallback is None:
                fallback = node
        for symbol in alphabet:
            nxt_p = tuple(n.step(m, symbol) for m, n in zip(pmasks, pos))
            if any(not m for m in nxt_p):
                continue
            nxt_n = tuple(n.step(m, symbol) for m, n in zip(nmasks, neg))
            if any(m & n.universal for m, n in zip(nxt_n, neg)):
                continue
            child = (nxt_p, nxt_n, symbol != "/")
            if child not in parents:
                parents[child] = (node, symbol)
                queue.append(child)
    return _spell(parents, fallback, other_char) if fallback is not None else None


def _spell(parents: dict, node: tuple, other_char: str) -> str:
    out = []
    while parents[node] is not None:
        node, symbol = parents[node]
        out.append(other_char if symbol == _OTHER else symbol)
    return "".join(reversed(out))


def includes(outer: Language, inner: Language) -> bool:
    """Whether every member of ``inner`` is a member of ``outer``."""
    return witness((inner,), (outer,)) is None


def concat(*parts: Iterable[Token] | str) -> Language:
    """Join literal strings and token sequences into one language, merging adjacent literals."""
    out: list[Token] = []
    for part in parts:
        tokens = (part,) if isinstance(part, str) else tuple(part)
        for token in tokens:
            if isinstance(token, str):
                if not token:
                    continue
                if out and isinstance(out[-1], str):
                    out[-1] = out[-1] + token
                    continue
            out.append(token)
    return tuple(out)
