"""The GitHub Action and the pre-commit hook call the CLI the way the CLI parses it."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from edgemedic.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def test_pre_commit_hook_entry_takes_the_staged_files() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "edgemedic-template-scan")
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    argv = hook["entry"].split()[1:] + ["template.yaml", "infra/api.template.json"]
    args = build_parser().parse_args(argv)
    assert args.templates == [Path("template.yaml"), Path("infra/api.template.json")] and args.fail_on == "high"
    files = re.compile(hook["files"])
    assert [bool(files.search(p)) for p in ("template.yaml", "infra/api.template.json", "x/stack.template",
                                             "docker-compose.yaml", "templates/org-member.yaml")] == \
        [True, True, True, False, False]


def test_action_runs_the_template_scan_and_uploads_sarif() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    scan = next(s for s in steps if s.get("id") == "scan")
    assert "--format sarif" in scan["run"] and "--template" in scan["run"] and "--terraform-plan" in scan["run"]
    # Inputs reach the shell through env, never pasted into the script.
    assert "${{" not in scan["run"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    args = build_parser().parse_args(["scan", "--template", "a.yaml", "--terraform-plan", "p.json", "--parameter",
                                      "K=V", "--format", "sarif", "--output", "x.sarif", "--fail-on", "low"])
    assert (args.templates, args.plans, args.parameters) == ([Path("a.yaml")], [Path("p.json")], ["K=V"])


def test_readme_examples_are_the_real_interfaces() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    action_use = next(yaml.safe_load(b) for b in blocks if "uses: edgemedic/edgemedic" in b)
    assert set(action_use[0]["with"]) <= set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    hook_use = next(yaml.safe_load(b) for b in blocks if "edgemedic-template-scan" in b)
    assert hook_use[0]["hooks"][0]["id"] == "edgemedic-template-scan"
    assert "python3 dev.py demo" in readme and "python3 dev.py test" in readme


def test_the_live_cli_does_not_load_the_template_decoders() -> None:
    """cfn-lint (with sympy and networkx) and the SAM translator cost seconds to import: only --template pays."""
    import subprocess
    import sys

    probe = ("import sys\nfrom edgemedic.cli import main\nmain(['scan', '--help'])\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'cfnlint', 'samtranslator', 'sympy', "
             "'networkx', 'pydantic'} or m.startswith(('edgemedic.sources', 'edgemedic.formats')))\n"
             "print(','.join(heavy), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == ""
