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


def test_each_api_is_read_once_from_the_regions_listings(seeded):
    emu, _ = seeded
    emu.calls.clear()
    inv = collect.collect(emu.clients(), from_summaries=True)
    rest = [a for a in inv.apis.values() if a.protocol.value == "REST"]
    v2 = [a for a in inv.apis.values() if a.protocol.value != "REST"]
    assert rest and v2
    regions = {region for region, _ in inv.apis}
    assert emu.calls[("apigateway", "GetRestApis")] == len(regions)
    assert emu.calls[("apigatewayv2", "GetApis")] == len(regions)
    assert emu.calls[("apigateway", "GetRestApi")] == emu.calls[("apigatewayv2", "GetApi")] == 0
    assert emu.calls[("apigateway", "GetStages")] == emu.calls[("apigateway", "GetResources")] == len(rest)
    assert emu.calls[("apigatewayv2", "GetRoutes")] == len(v2)
    # No method of the seed stories names an authorizer: GetAuthorizers is not called.
    assert not any(m.authorizer_id for a in rest for r in a.resources for m in r.methods)
    assert emu.calls[("apigateway", "GetAuthorizers")] == 0


def test_apis_are_read_by_id_where_listing_them_is_not_allowed(seeded):
    from edgemedic.emulator import _ShortCircuit

    emu, _ = seeded
    expected = collect.collect(emu.clients(), from_summaries=True)

    def deny(**_: object) -> tuple:
        return _ShortCircuit.error("AccessDeniedException", "not allowed to list", 403)

    for event in ("before-call.apigateway.GetRestApis", "before-call.apigatewayv2.GetApis"):
        emu.session.events.register(event, deny, unique_id=f"deny-{event}")
    try:
        emu.calls.clear()
        clients = emu.clients()
        inv = collect.collect(clients, from_summaries=True)
    finally:
        for event in ("before-call.apigateway.GetRestApis", "before-call.apigatewayv2.GetApis"):
            emu.session.events.unregister(event, unique_id=f"deny-{event}")
    assert inv.apis == expected.apis and inv.unreadable == expected.unreadable
    assert emu.calls[("apigateway", "GetRestApi")] == len(inv.apis)  # v2 ids: a NotFound first, then GetApi
    assert emu.calls[("apigatewayv2", "GetApi")] == sum(1 for a in inv.apis.values() if a.protocol.value != "REST")


def test_api_gateway_clients_retry_adaptively(seeded):
    emu, _ = seeded
    clients = emu.clients()
    assert clients.apigateway("eu-west-1").meta.config.retries["mode"] == "adaptive"
    assert clients.apigatewayv2("eu-west-1").meta.config.retries["mode"] == "adaptive"
    assert clients.cloudfront().meta.config.retries["mode"] == "standard"


def test_run_scan_reads_configs_only_when_asked(seeded):
    emu, _ = seeded
    clients = emu.clients()
    emu.calls.clear()
    light = cli.run_scan(clients)
    assert _config_reads(emu) == 0
    assert not any(collect.has_full_config(d) for d in light.inventory.distributions)
    emu.calls.clear()
    full = cli.run_scan(clients, summaries=False)  # the demo plans on what it scanned: whole configs
    assert emu.calls[("cloudfront", "GetDistributionConfig")] == len(full.inventory.distributions)
    assert all(collect.has_full_config(d) for d in full.inventory.distributions)
    assert full.findings == light.findings
