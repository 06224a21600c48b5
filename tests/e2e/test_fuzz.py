"""Fuzz evaluate, apply, approve and sweep (and the store under throttling) with hypothesis, through
functions/*/app.py on the emulator (tests/fuzzing.py). The normal run tries a few dozen inputs per entry point;
``python benchmarks/fuzz.py`` runs 5,000+ and prints the figures kept in benchmarks/README.md."""
from __future__ import annotations

import pytest

from fuzzing import TARGETS, Tally, examples

COUNTS = {"evaluate": 40, "apply": 40, "approve": 40, "sweep": 8, "store": 40}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzed_inputs_never_crash_write_lose_close_or_accept(target: str) -> None:
    tally = Tally()
    TARGETS[target](tally, examples(COUNTS[target]))
    figures = tally.figures()
    assert figures["total_inputs"] >= min(COUNTS[target], examples(COUNTS[target])) // 2, figures
    assert tally.clean(), figures
