"""A read-only scan reads no config per distribution: the ListDistributions summaries carry every field the rules
read (issue 14). Where a config is needed (the json output's diffs, a fix) it is read then, and only then."""
from __future__ import annotations

import dataclasses
import io
import json
from contextlib import redirect_stdout

import pytest
from moto.moto_api._internal import mock_random

from edgemedic import cli, collect, engine, scenarios
from edgemedic.emulator import Emulator

CONFIG_READS = {("cloudfront", "GetDistributionConfig"), ("cloudfront", "GetDistribution")}


@pytest.fixture(scope="module")
def seeded():
    with Emulator() as emu:
        mock_random.seed(7)
        ids = scenarios.build(emu.clients())
        yield emu, ids


def _config_reads(emu: Emulator) -> int:
    return sum(n for op, n in emu.calls.items() if op in CONFIG_READS)


def test_models_from_summaries_equal_models_from_configs(seeded):
    emu, ids = seeded
    clients = emu.clients()
    full = collect.collect(clients)
    emu.calls.clear()
    light = collect.collect(clients, from_summaries=True)
    assert _config_reads(emu) == 0
    assert emu.calls[("cloudfront", "ListDistributions")] == 1
    assert [d.id for d in light.distributions] == [d.id for d in full.distributions]
    for a, b in zip(full.distributions, light.distributions):
        assert collect.has_full_config(a) and not collect.has_full_config(b)
        assert set(a.config) - set(b.config) == {"CallerReference", "DefaultRootObject", "Logging"}
        assert {k: v for k, v in a.config.items() if k in b.config} == b.config
        assert dataclasses.replace(b, config=a.config, etag=a.etag) == a
    assert engine.scan(light) == engine.scan(full)
    assert light.apis == full.apis


def _scan(emu: Emulator, fmt: str) -> str:
    out = io.StringIO()
    emu.calls.clear()
    with redirect_stdout(out):
        cli.main(["scan", "--format", fmt, "--fail-on", "never"], clients=emu.clients())
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["table", "sarif"])
def test_table_and_sarif_read_no_config(seeded, fmt):
    emu, _ = seeded
    _scan(emu, fmt)
    assert _config_reads(emu) == 0


def test_json_reads_the_config_of_each_distribution_it_shows_a_diff_for(seeded):
    emu, ids = seeded
    document = json.loads(_scan(emu, "json"))
    with_diffs = {f["distribution"] for f in document["findings"] if f["fix"]["diff"]}
    fixable = {f["distribution"] for f in document["findings"] if f["fix"]["class"] != "manual"}
    assert ids["clean"] not in fixable and with_diffs <= fixable
    assert emu.calls[("cloudfront", "GetDistributionConfig")] == len(fixable)
    assert emu.calls[("cloudfront", "GetDistribution")] == 0
