"""Findings in the AWS Security Finding Format (ASFF), the shape Security Hub's BatchImportFindings takes.

Required top-level attributes (Security Hub user guide, "Required top-level ASFF attributes"; API reference
``AwsSecurityFinding``): AwsAccountId, CreatedAt, Description (at most 1024 characters), GeneratorId, Id,
ProductArn, Resources, SchemaVersion, Severity, Title (at most 256), Types, UpdatedAt. A finding imported by a
customer's own tool names the account's default product, ``arn:PARTITION:securityhub:REGION:ACCOUNT:product/
ACCOUNT/default``. Example::

    document = asff.document(findings, RULES, account="111122223333", partition="aws", region="us-east-1",
                             now=datetime.now(timezone.utc))
    # {"Findings": [...]}: aws securityhub batch-import-findings --cli-input-json (100 findings per call)
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from .findings import Finding, Rule, Severity

SCHEMA_VERSION = "2018-10-08"
PRODUCT_NAME = COMPANY_NAME = "edgemedic"
# Namespace/category from the ASFF types taxonomy; the classifier is ours.
FINDING_TYPE = "Software and Configuration Checks/AWS Security Best Practices/CloudFront in front of API Gateway"
RESOURCE_TYPE = "AwsCloudFrontDistribution"
BATCH_SIZE = 100  # BatchImportFindings takes at most 100 findings per request
LABEL = {Severity.CRITICAL: "CRITICAL", Severity.HIGH: "HIGH", Severity.MEDIUM: "MEDIUM", Severity.LOW: "LOW"}
TITLE_MAX, DESCRIPTION_MAX, RECOMMENDATION_MAX = 256, 1024, 512


def timestamp(moment: datetime) -> str:
    """``2026-12-01T14:03:07.123Z``: one of the formats Security Hub accepts."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def finding_id(finding: Finding) -> str:
    """Stable across scans, so that an import updates the finding instead of adding one."""
    return "edgemedic/" + "/".join(part or "-" for part in finding.key)


def product_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def distribution_arn(partition: str, account: str, distribution_id: str) -> str:
    return f"arn:{partition}:cloudfront::{account}:distribution/{distribution_id}"


def record(finding: Finding, rule: Rule | None, *, account: str, partition: str, region: str,
           created: datetime, updated: datetime | None = None, resolved: bool = False) -> dict[str, Any]:
    """One ASFF finding. ``resolved`` marks a finding that is gone (Workflow RESOLVED, RecordState ARCHIVED)."""
    account = finding.account or account
    fields = {"edgemedic/Rule": finding.rule, "edgemedic/FixClass": finding.fix.fix_class.value,
              "edgemedic/Behavior": finding.behavior, "edgemedic/Origin": finding.origin}
    recommendation: dict[str, str] = {
        "Text": clip(f"Fix ({finding.fix.fix_class.value}): {finding.fix.summary}", RECOMMENDATION_MAX)}
    if rule is not None:
        recommendation["Url"] = rule.url
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding),
        "ProductArn": product_arn(partition, region, account),
        "ProductName": PRODUCT_NAME,
        "CompanyName": COMPANY_NAME,
        "GeneratorId": f"edgemedic/{finding.rule}",
        "AwsAccountId": account,
        "Region": region,
        "Types": [FINDING_TYPE],
        "CreatedAt": timestamp(created),
        "UpdatedAt": timestamp(updated or created),
        "Severity": {"Label": LABEL[finding.severity], "Original": finding.severity.value},
        "Title": clip(f"{finding.rule}: {rule.title if rule is not None else finding.message}", TITLE_MAX),
        "Description": clip(f"{finding.message} What the user sees: {finding.symptom}", DESCRIPTION_MAX),
        "Remediation": {"Recommendation": recommendation},
        "ProductFields": {k: v for k, v in fields.items() if v},
        "Resources": [{
            "Type": RESOURCE_TYPE,
            "Id": distribution_arn(partition, account, finding.distribution),
            "Partition": partition,
            "Region": region,
        }],
        "RecordState": "ARCHIVED" if resolved else "ACTIVE",
        "Workflow": {"Status": "RESOLVED" if resolved else "NEW"},
    }


def document(findings: Sequence[Finding], rules: Sequence[Rule], *, account: str, partition: str, region: str,
             now: datetime) -> dict[str, list[dict[str, Any]]]:
    """``{"Findings": [...]}``: BatchImportFindings' request (send it in batches of :data:`BATCH_SIZE`).
    ``account`` is used for findings that do not carry their own."""
    by_id: Mapping[str, Rule] = {rule.id: rule for rule in rules}
    return {"Findings": [record(f, by_id.get(f.rule), account=account, partition=partition, region=region,
                                created=now) for f in findings]}
