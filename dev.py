#!/usr/bin/env python3
"""Set-up and tasks on a fresh machine with only Python 3.11+ and git.

    python3 dev.py demo      # edgemedic demo on the embedded AWS emulator
    python3 dev.py test      # the whole test suite
    python3 dev.py bench     # the benchmarks (see benchmarks/README.md)
    python3 dev.py run ARGS  # any edgemedic command in the project's environment, run where you stand

The virtual environment lives in .venv and is (re)built when pyproject.toml changes.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".edgemedic-installed"
# The SAM CLI (for tests/functional/test_template.py: sam validate --lint, sam build) gets its own virtualenv: its
# boto3/botocore/pydantic pins conflict with moto's and the layer's.
SAM_VENV = ROOT / ".venv-sam"
SAM_CLI = "aws-sam-cli==1.170.0"


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_env() -> None:
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    if not PY.exists():
        print("dev.py: creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing edgemedic and its dev dependencies into .venv", file=sys.stderr)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())


def ensure_sam() -> None:
    stamp = SAM_VENV / ".edgemedic-installed"
    if stamp.exists() and stamp.read_text() == SAM_CLI:
        return
    python = SAM_VENV / ("Scripts" if os.name == "nt" else "bin") / "python"
    if not python.exists():
        print("dev.py: creating .venv-sam", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(SAM_VENV)
    print(f"dev.py: installing {SAM_CLI} into .venv-sam", file=sys.stderr)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", SAM_CLI],
                   check=True)
    stamp.write_text(SAM_CLI)


def call(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Run ``cmd`` and return its exit code. Ctrl-C reaches the child too (same process group): dev.py waits for it
    to finish its own way (edgemedic says "interrupted" and exits 130) instead of printing a traceback of its own."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:
            continue
    return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N


def main(argv: list[str]) -> int:
    task, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if task in {"help", "-h", "--help"}:
        print(__doc__)
        return 0
    ensure_env()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if task == "demo":
        cmd = [str(BIN / "edgemedic"), "demo", *rest]
    elif task == "test":
        ensure_sam()
        cmd = [str(PY), "-m", "pytest", *rest]
    elif task == "bench":
        cmd = [str(PY), str(ROOT / "benchmarks" / "run.py"), *rest]
    elif task == "run":
        # where the person stands: `--output report.json` and other relative paths mean what they would mean there
        return call([str(BIN / "edgemedic"), *rest], cwd=Path.cwd(), env=env)
    else:
        print(f"dev.py: unknown task {task!r}\n{__doc__}", file=sys.stderr)
        return 2
    return call(cmd, cwd=ROOT, env=env)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # during set-up (pip): one line, the shell's code for SIGINT
        print("dev.py: interrupted", file=sys.stderr)
        sys.exit(130)
