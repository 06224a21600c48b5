"""Findings to AWS Security Hub, in the account they belong to (BatchImportFindings must be called from the account
of the findings' product, the account's default product), updated while they last and resolved when they are gone.

An import with the same finding Id updates the finding; a finding that is gone is imported once more with
``RecordState: ARCHIVED`` and ``Workflow.Status: RESOLVED``. Example::

    export(member.client("securityhub"), current, gone_records, account="444455556666", partition="aws",
           region="us-east-1", now=datetime.now(timezone.utc))
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping, Sequence

from . import asff
from .errors import EdgemedicError
from .findings import Finding, Fix, FixClass, Severity

class SecurityHubError(EdgemedicError):
    """Security Hub refused findings (its answer names them)."""


def finding_from_record(record: Mapping[str, Any]) -> Finding:
    """A stored finding record (edgemedic.handlers.store.finding_record) back as a Finding, to resolve it."""
    return Finding(rule=record["rule"], severity=Severity(record["severity"]), distribution=record["distribution"],
                   behavior=record.get("behavior", ""), origin=record.get("origin", ""),
                   message=record.get("message", ""), symptom="(resolved)",
                   fix=Fix(FixClass(record.get("fix_class", "manual")), record.get("fix", "")),
                   account=record.get("account", ""))


def export(client: Any, current: Sequence[Finding], gone: Sequence[Mapping[str, Any]], *, account: str,
           partition: str, region: str, now: datetime) -> int:
    """Import ``current`` as active and the ``gone`` records as resolved, 100 per call. Returns the count sent;
    raises SecurityHubError naming the first finding Security Hub refused."""
    from .rules import RULES

    by_id = {rule.id: rule for rule in RULES}
    documents = [asff.record(f, by_id.get(f.rule), account=account, partition=partition, region=region,
                             created=now) for f in current]
    for record in gone:
        finding = finding_from_record(record)
        documents.append(asff.record(finding, by_id.get(finding.rule), account=account, partition=partition,
                                     region=region, created=now, resolved=True))
    for start in range(0, len(documents), asff.BATCH_SIZE):
        answer = client.batch_import_findings(Findings=documents[start:start + asff.BATCH_SIZE])
        if answer.get("FailedCount"):
            failed = answer.get("FailedFindings") or [{}]
            raise SecurityHubError(f"Security Hub refused {answer['FailedCount']} finding(s) in account {account}: "
                                   f"{failed[0].get('Id', '?')}: {failed[0].get('ErrorCode', '?')} "
                                   f"{failed[0].get('ErrorMessage', '')}".strip())
    return len(documents)
