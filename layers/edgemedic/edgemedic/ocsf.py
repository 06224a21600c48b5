"""Findings as OCSF 1.3 Detection Findings (class_uid 2004, category Findings), for SIEMs and Security Lake.

Required by the schema (base event, finding and detection_finding classes, cloud profile): activity_id,
category_uid, class_uid, type_uid (class_uid * 100 + activity_id), severity_id, time (epoch milliseconds),
metadata (product name, schema version), finding_info (uid, title) and cloud.provider. Example::

    events = ocsf.events(findings, RULES, account="111122223333", partition="aws", region="us-east-1",
                         now=datetime.now(timezone.utc), version="0.1.0")
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from .asff import distribution_arn, finding_id
from .findings import Finding, Rule, Severity

SCHEMA_VERSION = "1.3.0"
CLASS_UID, CLASS_NAME = 2004, "Detection Finding"
CATEGORY_UID, CATEGORY_NAME = 2, "Findings"
ACTIVITY_CREATE = 1
SEVERITY_ID = {Severity.LOW: 2, Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5}
SEVERITY_NAME = {2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
ACCOUNT_TYPE_AWS = 10  # account.type_id "AWS Account"
ANALYTIC_RULE = 1  # analytic.type_id "Rule"
STATUS_NEW = 1


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def event(finding: Finding, rule: Rule | None, *, account: str, partition: str, region: str, now: datetime,
          version: str) -> dict[str, Any]:
    account = finding.account or account
    severity_id = SEVERITY_ID[finding.severity]
    analytic: dict[str, Any] = {"uid": finding.rule, "name": finding.rule, "type_id": ANALYTIC_RULE, "type": "Rule"}
    info: dict[str, Any] = {
        "uid": finding_id(finding),
        "title": rule.title if rule is not None else finding.message,
        "desc": f"{finding.message} What the user sees: {finding.symptom}",
        "types": ["CloudFront in front of API Gateway misconfiguration"],
        "created_time": epoch_ms(now),
        "analytic": analytic,
    }
    if rule is not None:
        info["src_url"] = rule.url
    remediation: dict[str, Any] = {"desc": f"Fix ({finding.fix.fix_class.value}): {finding.fix.summary}"}
    if rule is not None:
        remediation["references"] = [rule.url]
    cloud: dict[str, Any] = {"provider": "AWS", "region": region}
    if account:
        cloud["account"] = {"uid": account, "type_id": ACCOUNT_TYPE_AWS, "type": "AWS Account"}
    resource: dict[str, Any] = {"uid": finding.distribution, "name": finding.distribution,
                                "type": "AWS::CloudFront::Distribution", "cloud_partition": partition}
    if account:
        resource["uid"] = distribution_arn(partition, account, finding.distribution)
    return {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": f"{CLASS_NAME}: Create",
        "severity_id": severity_id,
        "severity": SEVERITY_NAME[severity_id],
        "status_id": STATUS_NEW,
        "status": "New",
        "time": epoch_ms(now),
        "message": finding.message,
        "is_alert": True,
        "metadata": {
            "version": SCHEMA_VERSION,
            "product": {"name": "edgemedic", "vendor_name": "edgemedic", "version": version},
            "event_code": finding.rule,
            "profiles": ["cloud"],
        },
        "finding_info": info,
        "cloud": cloud,
        "resources": [resource],
        "remediation": remediation,
        "unmapped": {"edgemedic": {
            "behavior": finding.behavior, "origin": finding.origin, "fix_class": finding.fix.fix_class.value,
            "evidence": list(finding.evidence), "notes": list(finding.notes)}},
    }


def events(findings: Sequence[Finding], rules: Sequence[Rule], *, account: str, partition: str, region: str,
           now: datetime, version: str) -> list[dict[str, Any]]:
    by_id: Mapping[str, Rule] = {rule.id: rule for rule in rules}
    return [event(f, by_id.get(f.rule), account=account, partition=partition, region=region, now=now,
                  version=version) for f in findings]
