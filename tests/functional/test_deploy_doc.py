"""docs/deploy.md's IAM table is generated from template.yaml (scripts/deploy_doc.py) and kept in step by this test."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("deploy_doc", ROOT / "scripts" / "deploy_doc.py")
assert spec is not None and spec.loader is not None
deploy_doc = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = deploy_doc
spec.loader.exec_module(deploy_doc)


def test_the_iam_table_of_docs_deploy_md_is_the_templates() -> None:
    assert deploy_doc.main(["--check"]) == 0, "run: .venv/bin/python scripts/deploy_doc.py --update"


def test_only_apply_may_update_a_distribution() -> None:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=deploy_doc._Loader)  # noqa: S506
    rows = deploy_doc.iam_table(template).splitlines()[2:]
    writers = [row.split(" | ")[0].lstrip("| ") for row in rows if "`cloudfront:UpdateDistribution`" in row]
    assert writers == ["apply"]
    assert all("cloudfront:" not in row.split(" | ")[1] for row in rows if row.startswith("| approve"))
