#!/usr/bin/env python3
"""The IAM table of docs/deploy.md ("What it will and will not touch"), generated from template.yaml's own
policies so that it cannot drift from what the stack grants.

    .venv/bin/python scripts/deploy_doc.py --update   # rewrite the table between the markers
    .venv/bin/python scripts/deploy_doc.py --check    # exit 1 when docs/deploy.md is out of date (a test runs it)
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
DOC = ROOT / "docs" / "deploy.md"
START, END = "<!-- iam:start -->", "<!-- iam:end -->"


def load_template(path: Path = TEMPLATE) -> dict:
    """template.yaml with its short-form tags in long form (cfn-lint's decoder, as the template scan uses)."""
    from cfnlint.decode import cfn_yaml

    return cfn_yaml.load(str(path))


def _resource(value: Any) -> str:
    """A policy resource as a person reads it."""
    if value == "*":
        return "any"
    if isinstance(value, list):
        return ", ".join(_resource(v) for v in value if v != {"Ref": "AWS::NoValue"})
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            name = value["Fn::GetAtt"][0]
            return {"Table": "the stack's table"}.get(name, f"{name} (this stack)")
        if "Ref" in value:
            return f"the `{value['Ref']}` parameter's ARN"
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            for name, shown in (("${AWS::Partition}", "aws"), ("${AWS::Region}", "REGION"),
                                ("${AWS::AccountId}", "ACCOUNT")):
                text = text.replace(name, shown)
            text = re.sub(r"[$][{]([A-Za-z0-9]+)[}]", r"<\1>", text)
            return f"`{text}`"
        if "Fn::If" in value:
            return _resource(value["Fn::If"][1])
    return f"`{value}`"


def _condition(condition: dict | None) -> str:
    if not condition:
        return ""
    parts = []
    for operator, tests in condition.items():
        for key, values in tests.items():
            shown = ", ".join(f"`{v}`" for v in (values if isinstance(values, list) else [values]))
            parts.append(f"{key} ({operator}) {shown}")
    return "; ".join(parts)


# The template's conditions, in words.
CONDITIONS = {"HasNotifySecret": "a Slack or ticket secret is set", "HasSlackSecret": "a Slack secret is set",
              "HasTicketSecret": "a ticket secret is set"}


def _when(condition: str) -> str:
    return CONDITIONS.get(condition, f"condition {condition} holds")


def _statements(statement: Any, when: str = "") -> list[tuple[dict, str]]:
    if isinstance(statement, dict) and "Fn::If" in statement:
        condition, present, _ = statement["Fn::If"]
        return _statements(present, _when(condition))
    if statement == {"Ref": "AWS::NoValue"}:
        return []
    return [(statement, when)]


def iam_table(template: dict) -> str:
    """One row per statement of each function's policies, in the template's order."""
    lines = ["| function | may | on | only when |", "|---|---|---|---|"]
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        function = name.removesuffix("Function").lower()
        if resource.get("Condition"):
            function += f" (deployed when {_when(resource['Condition'])})"
        for policy in resource["Properties"].get("Policies", []):
            for raw in policy.get("Statement", []) if isinstance(policy, dict) else []:
                for statement, when in _statements(raw):
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    effect = "" if statement.get("Effect", "Allow") == "Allow" else "**deny** "
                    condition = "; ".join(p for p in (when, _condition(statement.get("Condition"))) if p)
                    lines.append(f"| {function} | {effect}{', '.join(f'`{a}`' for a in actions)} | "
                                 f"{_resource(statement['Resource'])} | {condition} |")
    return "\n".join(lines) + "\n"


def with_table(doc: str, table: str) -> str:
    start, end = doc.find(START), doc.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{DOC} has no {START} ... {END} markers")
    return f"{doc[: start + len(START)]}\n{table}{doc[end:]}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--update", action="store_true")
    action.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    template = load_template()
    current = DOC.read_text(encoding="utf-8")
    wanted = with_table(current, iam_table(template))
    if args.check:
        if wanted != current:
            print(f"{DOC}: the IAM table is out of date; run scripts/deploy_doc.py --update", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
