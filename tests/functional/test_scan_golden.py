"""``scan`` (json, sarif, table) and ``fix --dry-run`` write exactly what they wrote before the scan was made
faster: plans built once per distribution, diffs only for the json output, distributions built from the
ListDistributions summaries, API reads in parallel (issue 14). The goldens come from the code before that change;
see scan_golden.py for how they were written."""
from __future__ import annotations

import difflib

import pytest
import scan_golden


def _first_difference(expected: str, actual: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), "golden", "now", lineterm="", n=2)
    return "\n".join(list(lines)[:40])


@pytest.mark.parametrize("account", sorted(scan_golden.ACCOUNTS))
def test_output_matches_the_golden(account: str) -> None:
    compared = 0
    for name, text in scan_golden.outputs(account):
        expected = scan_golden.read(name)
        assert text == expected, f"{name} differs from the golden:\n{_first_difference(expected, text)}"
        compared += 1
    assert compared == len(scan_golden.COMMANDS)
