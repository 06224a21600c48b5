"""docs/deploy.md's IAM table is generated from template.yaml (scripts/deploy_doc.py) and kept in step by this test."""
from __future__ import annotations

from builders import load_script

deploy_doc = load_script("deploy_doc")


def test_the_iam_table_of_docs_deploy_md_is_the_templates() -> None:
    assert deploy_doc.main(["--check"]) == 0, "run: .venv/bin/python scripts/deploy_doc.py --update"


def test_only_apply_may_update_a_distribution() -> None:
    rows = deploy_doc.iam_table(deploy_doc.load_template()).splitlines()[2:]
    writers = [row.split(" | ")[0].lstrip("| ") for row in rows if "`cloudfront:UpdateDistribution`" in row]
    assert writers == ["apply"]
    assert all("cloudfront:" not in row.split(" | ")[1] for row in rows if row.startswith("| approve"))
