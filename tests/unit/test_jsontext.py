"""jsontext.dumps writes exactly what json.dumps(indent=2) writes (it replaces it for the big documents)."""
from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgemedic import jsontext


class Level(str, enum.Enum):
    HIGH = "high"


class Count(enum.IntEnum):
    TWO = 2


_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text() | st.sampled_from([Level.HIGH, Count.TWO, "→ é \u2028 \x00 \"quoted\" \\"]))
_KEYS = st.text() | st.sampled_from(["", "a", "é", "\n"])
_DOCS = st.recursive(_LEAVES, lambda children: st.lists(children, max_size=4)
                     | st.lists(children, max_size=3).map(tuple)
                     | st.dictionaries(_KEYS, children, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_DOCS, st.booleans())
def test_same_text_as_json_dumps(doc: object, ensure_ascii: bool) -> None:
    assert jsontext.dumps(doc, ensure_ascii=ensure_ascii) == json.dumps(doc, indent=2, ensure_ascii=ensure_ascii)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.integers() | st.floats() | st.none() | st.booleans(), _LEAVES, min_size=1, max_size=4))
def test_keys_that_are_not_strings_are_written_as_json_writes_them(doc: dict) -> None:
    assert jsontext.dumps({"outer": [doc]}) == json.dumps({"outer": [doc]}, indent=2)


def test_what_json_cannot_encode_raises_as_json_does() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"a": [object()]})
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        jsontext.dumps(loop)
