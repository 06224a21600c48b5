"""What a ticket or Slack message tells a person to do, checked against the finding's own evidence.

A person acts on the texts (the fix summary, the ticket's "change to make", the plan's summary lines); the evidence
is what edgemedic read. Every name a text gives (a host, an API id, a stage, a behavior, an origin, a managed
policy) must be one the evidence or the distribution holds, and a resource a text proposes must be the path API
Gateway routes inside the stage (the evidence's "no resource /api/x in stage prod"), not the path CloudFront sends.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from edgemedic import plan, policies
from edgemedic.findings import Finding, FixClass
from edgemedic.model import Distribution
from edgemedic.notify.alert import Alert, DistributionInfo
from edgemedic.notify.slack import build_message
from edgemedic.notify.tickets import ticket_content

HOST = re.compile(r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|aws|example)\b")
API_ID = re.compile(r"\bAPIs? ([a-z0-9]{10})\b")
STAGE = re.compile(r"\bstage ([A-Za-z0-9_$-]+)")
BEHAVIOR = re.compile(r"\bbehaviors? ([/*][^\s,;:()]*)")
ORIGIN = re.compile(r"\borigin ([A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])\b")
NO_RESOURCE = re.compile(r"no (?:resource |route matches (?:[A-Z]+ )?)(/\S*) in stage (\S+)")
PROPOSED = re.compile(r"(?:resources|routes)[^;.]*? in stage (\S+)[^;]*?e\.g\. (/\S*)")
MANAGED = {p.name for p in (*policies.MANAGED_CACHE_POLICIES.values(),
                            *policies.MANAGED_ORIGIN_REQUEST_POLICIES.values())}
# Names a text may use without the evidence holding them: AWS's own documented hosts and placeholders.
GENERIC_HOSTS = {"cloudfront.net", "amazonaws.com", "execute-api.amazonaws.com"}
NOT_ORIGINS = {"request", "requests", "path", "paths", "protocol", "shield", "group", "groups", "the", "is", "and",
               "with",
               "domain", "access", "timeout", "timeouts", "its", "it", "that", "which", "to", "on", "of", "for",
               "behind", "other", "others", "in", "at", "name", "names", "can", "policy", "type", "types",
               # "the origin SSL protocols of lb": the protocols' name, not an origin id (ids are compared as given,
               # so only an origin literally named "SSL"/"ssl" would go unchecked)
               "ssl",
               # "the CloudFront origin response timeout quota", "let the static origin serve its own error pages"
               "response", "serve"}


def _facts(finding: Finding, dist: Distribution | None) -> str:
    parts = [finding.message, finding.symptom, *finding.evidence, *finding.notes, finding.distribution,
             finding.behavior, finding.origin]
    if dist is not None:
        parts += [dist.id, dist.domain_name, *dist.aliases]
        parts += [b.path_pattern for b in dist.behaviors]
        parts += [f"{o.id} {o.domain_name} {o.origin_path}" for o in dist.origins]
    return "\n".join(p for p in parts if p)


def problems(finding: Finding, texts: Iterable[str], dist: Distribution | None = None) -> list[str]:
    """What in ``texts`` (told to a person about ``finding``) the evidence does not back."""
    facts = _facts(finding, dist)
    patterns = {b.path_pattern for b in dist.behaviors} if dist is not None else {finding.behavior}
    origins = {o.id for o in dist.origins} if dist is not None else {finding.origin}
    found: list[str] = []
    for text in texts:
        for host in HOST.findall(text):
            if host not in facts and host not in GENERIC_HOSTS and not host.endswith((".example", ".console.aws.amazon.com")):
                found.append(f"host {host} is in no evidence")
        for api_id in API_ID.findall(text):
            if api_id not in facts:
                found.append(f"API {api_id} is in no evidence")
        for stage in STAGE.findall(text):
            if stage in NOT_ORIGINS | {"or", "variables", "name"}:
                continue
            if f"stage {stage}" not in facts and f"stages {stage}" not in facts and f"/{stage}" not in facts:
                found.append(f"stage {stage} is in no evidence")
        for pattern in BEHAVIOR.findall(text):
            if pattern.rstrip(".") not in patterns and pattern.rstrip(".") != "*":
                found.append(f"behavior {pattern} is not a behavior of {finding.distribution}")
        for origin in ORIGIN.findall(text):
            if origin.lower() not in NOT_ORIGINS and origin not in origins and origin not in facts:
                found.append(f"origin {origin} is not an origin of {finding.distribution}")
        for name in re.findall(r"\b((?:Managed-)?(?:AllViewer\w*|Caching\w+|CORS-\w+|UserAgentRefererHeaders))\b",
                               text):
            if name not in MANAGED and name not in facts:
                found.append(f"managed policy {name} does not exist")
        needed = {stage: path for path, stage in NO_RESOURCE.findall(facts)}
        for stage, path in PROPOSED.findall(text):
            path = path.rstrip(")")
            if stage in needed and path != needed[stage]:
                found.append(f"proposes {path} in stage {stage}, but the evidence says the stage needs "
                             f"{needed[stage]}")
    return found


def plan_problems(summary: Sequence[str], diff: str) -> list[str]:
    """Each summary line's new value ("... -> X") is on the diff's new side, and some of it is what the diff adds."""
    lines = [line for line in diff.splitlines() if not line.startswith(("+++", "---"))]
    added = "\n".join(line for line in lines if line.startswith("+"))
    removed = "\n".join(line for line in lines if line.startswith("-"))
    new_side = "\n".join(line for line in lines if line.startswith(("+", " ")))
    found = []
    for line in summary:
        if " -> " not in line:
            continue
        old, new = (part.strip().strip('"') for part in line.rsplit(" -> ", 1))
        values = _values(new)
        # A line that narrows a list ("SSLv3,TLSv1.2 -> TLSv1.2") adds no value: it holds when what it drops (the
        # old side's values that are nowhere on the new side) is on the diff's removed lines instead.
        dropped = [v for v in _values(old) if v not in values and v not in new_side]
        narrows = bool(dropped) and all(f'"{v}"' in removed for v in dropped)
        if values and (any(v not in new_side for v in values)
                       or not (any(v in added for v in values) or narrows)):
            found.append(f"summary line {line!r} names {new}, which the diff does not add")
    return found


def _values(text: str) -> list[str]:
    """The names and values in a summary's side (AllViewer, GET, https-only, /prod, app.example.com), not the prose."""
    return [v for v in re.split(r"[ ,]+", text) if v and v not in {"(empty)", "(none)"}
            and re.search(r"[A-Z0-9/.-]", v)]


def slack_text(alert: Alert) -> str:
    """Every text a person reads in the Slack message (the blocks' mrkdwn and plain text), unescaped."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(build_message(alert).to_dict())
    return "\n".join(texts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("`", "")


def all_problems(finding: Finding, dist: Distribution) -> list[str]:
    """What a person is told about ``finding`` and the evidence does not back: the fix's summary and ticket, the
    ticket and Slack message of the manual alert, and, when the fix changes the configuration, the plan's summary
    (against its diff) and the ticket and Slack message of the plan's alert. ``dist`` needs its config for a plan."""
    alert = Alert.for_manual(DistributionInfo.from_model(dist), [finding])
    texts = [finding.fix.summary, finding.fix.ticket, ticket_content(alert).text, slack_text(alert)]
    found: list[str] = []
    if finding.fix.changes:
        built = plan.build_plan(dist, [finding], classes=frozenset(FixClass))
        if built is None:
            found.append(f"{finding.key}: the fix has changes but plans nothing")
        else:
            found += plan_problems(built.summary, built.diff)
            plan_alert = Alert.for_plan(built)
            texts += [*built.summary, ticket_content(plan_alert).text, slack_text(plan_alert)]
    return found + problems(finding, texts, dist)
