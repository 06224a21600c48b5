"""``scan --format asff`` and ``--format ocsf`` on the seed stories: the required fields of each format, checked
against the shapes AWS and OCSF publish (ASFF: botocore's own model of BatchImportFindings, which moto's Security
Hub then accepts; OCSF 1.3 Detection Finding: the schema's required attributes, by hand, as there is no network)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Iterator

import pytest
from botocore.validate import ParamValidator

from edgemedic import asff, cli, ocsf, scenarios
from edgemedic.emulator import Emulator
from edgemedic.findings import Finding, Fix, FixClass, Severity
from edgemedic.rules import RULES

ACCOUNT = "123456789012"
ASFF_REQUIRED = {"AwsAccountId", "CreatedAt", "Description", "GeneratorId", "Id", "ProductArn", "Resources",
                 "SchemaVersion", "Severity", "Title", "Types", "UpdatedAt"}
OCSF_REQUIRED = {"activity_id", "category_uid", "class_uid", "type_uid", "severity_id", "time", "metadata",
                 "finding_info", "cloud"}
TYPE_NAMESPACES = ("Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
                   "Sensitive Data Identifications")


class Seeded:
    def __init__(self, emu: Emulator):
        self.emu = emu
        self.clients = emu.clients()
        self.ids = scenarios.build(self.clients)
        self.expected = 0

    def scan(self, capsys: pytest.CaptureFixture, fmt: str) -> tuple[int, object, str]:
        code = cli.main(["scan", "--format", fmt], clients=self.clients)
        out, err = capsys.readouterr()
        return code, json.loads(out), err


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    with Emulator() as emu:
        yield Seeded(emu)


def _json_scan(seeded: Seeded, capsys) -> list[dict]:
    _, document, _ = seeded.scan(capsys, "json")
    return document["findings"]  # type: ignore[index]


def test_asff_is_a_valid_batch_import_request(seeded: Seeded, capsys) -> None:
    plain = _json_scan(seeded, capsys)
    code, document, err = seeded.scan(capsys, "asff")
    assert code == 1 and err == ""
    findings = document["Findings"]  # type: ignore[index]
    assert len(findings) == len(plain) > 0
    client = seeded.clients.client("securityhub")
    shape = client.meta.service_model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    assert not report.has_errors(), report.generate_report()
    by_rule = {(f["rule"], f["distribution"], f["behavior"]): f for f in plain}
    for finding in findings:
        assert ASFF_REQUIRED <= set(finding)
        assert finding["AwsAccountId"] == ACCOUNT
        assert finding["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
        assert finding["Types"][0].split("/")[0] in TYPE_NAMESPACES and finding["Types"][0].count("/") == 2
        assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
        assert len(finding["Remediation"]["Recommendation"]["Text"]) <= 512
        assert finding["CreatedAt"].endswith("Z") and finding["CreatedAt"] == finding["UpdatedAt"]
        fields = finding["ProductFields"]
        source = by_rule[(fields["edgemedic/Rule"], finding["Resources"][0]["Id"].rsplit("/", 1)[1],
                          fields.get("edgemedic/Behavior", ""))]
        assert finding["Severity"]["Label"] == source["severity"].upper()
        assert finding["GeneratorId"] == f"edgemedic/{source['rule']}"
        assert finding["Resources"] == [{"Type": "AwsCloudFrontDistribution", "Partition": "aws", "Region": "us-east-1",
                                         "Id": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{source['distribution']}"}]
    assert len({f["Id"] for f in findings}) == len(findings)
    # moto's Security Hub takes them, as Security Hub would.
    answer = client.batch_import_findings(Findings=findings)
    assert (answer["SuccessCount"], answer["FailedCount"]) == (len(findings), 0)
    stored = client.get_findings(MaxResults=100)["Findings"]
    assert {f["Id"] for f in stored} == {f["Id"] for f in findings}


def test_ocsf_events_are_detection_findings(seeded: Seeded, capsys) -> None:
    plain = _json_scan(seeded, capsys)
    code, events, err = seeded.scan(capsys, "ocsf")
    assert code == 1 and err == ""
    assert isinstance(events, list) and len(events) == len(plain)
    for event, source in zip(events, plain):
        assert OCSF_REQUIRED <= set(event)
        assert (event["class_uid"], event["category_uid"], event["activity_id"]) == (2004, 2, 1)
        assert event["type_uid"] == 200401
        assert event["severity_id"] == {"low": 2, "medium": 3, "high": 4, "critical": 5}[source["severity"]]
        assert isinstance(event["time"], int) and event["time"] > 1_600_000_000_000
        assert event["metadata"]["version"] == "1.3.0" and event["metadata"]["product"]["name"] == "edgemedic"
        assert event["finding_info"]["analytic"]["uid"] == source["rule"]
        assert event["finding_info"]["title"] and event["finding_info"]["uid"].startswith("edgemedic/")
        assert event["cloud"] == {"provider": "AWS", "region": "us-east-1",
                                  "account": {"uid": ACCOUNT, "type_id": 10, "type": "AWS Account"}}
        assert event["resources"][0]["uid"] == f"arn:aws:cloudfront::{ACCOUNT}:distribution/{source['distribution']}"
    assert len({e["finding_info"]["uid"] for e in events}) == len(events)


def test_long_text_is_clipped_to_the_asff_limits() -> None:
    rule = next(r for r in RULES if r.id == "apigw-host-forwarded")
    finding = Finding(rule=rule.id, severity=Severity.HIGH, distribution="E2SHOP", behavior="/api/*",
                      origin="api", message="m " * 700, symptom="s", fix=Fix(FixClass.AUTO, "f " * 400),
                      account="111122223333")
    record = asff.record(finding, rule, account="999999999999", partition="aws-cn", region="cn-north-1",
                         created=datetime(2026, 12, 1, 14, 3, 7, 123456, tzinfo=timezone.utc))
    assert len(record["Description"]) == 1024 and record["Description"].endswith("…")
    assert len(record["Remediation"]["Recommendation"]["Text"]) == 512
    assert record["AwsAccountId"] == "111122223333"  # the finding's own account wins
    assert record["ProductArn"] == "arn:aws-cn:securityhub:cn-north-1:111122223333:product/111122223333/default"
    assert record["CreatedAt"] == "2026-12-01T14:03:07.123Z"
    assert record["Id"] == "edgemedic/apigw-host-forwarded/E2SHOP//api/*/api"
    event = ocsf.event(finding, rule, account="", partition="aws-cn", region="cn-north-1",
                       now=datetime(2026, 12, 1, tzinfo=timezone.utc), version="1.0")
    assert event["time"] == 1796083200000
    assert event["resources"][0]["uid"] == "arn:aws-cn:cloudfront::111122223333:distribution/E2SHOP"


def test_security_hub_export_sends_batches_of_100_and_says_what_was_refused() -> None:
    import boto3
    from botocore.stub import ANY, Stubber

    from edgemedic.securityhub import SecurityHubError, export

    rule = next(r for r in RULES if r.id == "apigw-host-forwarded")
    findings = [Finding(rule=rule.id, severity=Severity.HIGH, distribution=f"E{n:012d}", behavior="/api/*",
                        origin="api", message="m", symptom="s", fix=Fix(FixClass.AUTO, "f")) for n in range(150)]
    gone = [{"rule": rule.id, "severity": "high", "distribution": "E999", "behavior": "/api/*", "origin": "api",
             "message": "m", "fix_class": "auto", "fix": "f"}]
    client = boto3.client("securityhub", region_name="us-east-1")
    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    with Stubber(client) as stub:
        stub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 100, "FailedFindings": []},
                          {"Findings": ANY})
        stub.add_response("batch_import_findings", {"FailedCount": 0, "SuccessCount": 51, "FailedFindings": []},
                          {"Findings": ANY})
        assert export(client, findings, gone, account=ACCOUNT, partition="aws", region="us-east-1", now=now) == 151
        stub.assert_no_pending_responses()
        stub.add_response("batch_import_findings", {"FailedCount": 1, "SuccessCount": 0, "FailedFindings": [
            {"Id": "edgemedic/x", "ErrorCode": "InvalidInput", "ErrorMessage": "Finding does not adhere to ASFF"}]},
            {"Findings": ANY})
        with pytest.raises(SecurityHubError) as refused:
            export(client, findings[:1], [], account=ACCOUNT, partition="aws", region="us-east-1", now=now)
    assert str(refused.value) == ("Security Hub refused 1 finding(s) in account 123456789012: edgemedic/x: "
                                  "InvalidInput Finding does not adhere to ASFF")
