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


def test_the_page_answers_in_the_order_an_ops_engineer_asks() -> None:
    text = (deploy_doc.DOC).read_text(encoding="utf-8")
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["What it will and will not touch", "Start in dry run, and read what it would have done",
                        "Go live", "Stop everything at once", "Scope it to some distributions",
                        "What it costs per month", "Check it works after deploying", "Uninstall",
                        "Organization (hub and spokes)", "Reference"]


def test_the_cost_arithmetic_adds_up() -> None:
    """The page's totals from its own prices and assumptions (Lambda arm64, DynamoDB on-demand, SQS FIFO)."""
    request, gb_second, write, read, sqs = 0.20e-6, 0.0000133334, 0.625e-6, 0.125e-6, 0.50e-6
    fixed = 120 * request + 120 * 60 * 1.0 * gb_second + 120 * 200 * write + 648_000 * sqs
    totals = []
    for per_day in (100, 1_000, 10_000):
        events = 30 * per_day
        fixes = events / 10
        totals.append(round((events + fixes) * request + (0.5 * events + fixes) * gb_second
                            + (10 * events + 6 * fixes) * write + (2 * events + 2 * fixes) * read
                            + 3 * fixes * sqs + fixed, 2))
    text = " ".join(deploy_doc.DOC.read_text(encoding="utf-8").split())
    assert totals == [0.48, 0.89, 5.02]
    assert "about **$0.48, $0.89 and $5.02** a month" in text
