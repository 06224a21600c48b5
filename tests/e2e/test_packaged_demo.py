"""``pip install 'edgemedic[demo]'`` then ``edgemedic demo``, away from any checkout (issue 13, item 2).

A real wheel is built from the project (pip, with build isolation: setuptools from pip's cache or PyPI) and
installed into a fresh virtualenv under a temporary folder, and its ``edgemedic demo`` runs from there. The
dependencies are not downloaded again: a .pth file lends the project environment's site-packages to the new
virtualenv (its own edgemedic, from the wheel, comes first), so the test runs offline once the wheel is built.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from edgemedic import cli, local

ROOT = Path(__file__).resolve().parents[2]


def _key_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        paths = set()
        for key, item in value.items():
            paths |= {f"{prefix}/{key}"} | _key_paths(item, f"{prefix}/{key}")
        return paths
    return set()


@pytest.mark.parametrize(("built", "recorded"), [
    (lambda: local.update_distribution_event(local.Person("dana", "Admin"), distribution_id="E1", domain_name="d.net",
                                             config={"Comment": "x"}, if_match="E0", etag="E2"),
     "cloudfront-update-distribution.json"),
    (lambda: local.put_method_event(local.Person("priya", "ApiDevelopers"), region="us-east-1", rest_api_id="a",
                                    resource_id="r", http_method="GET", authorization_type="AWS_IAM"),
     "apigateway-put-method.json"),
])
def test_demo_events_have_the_shape_of_the_recorded_ones(built, recorded) -> None:
    """The demo builds its CloudTrail events in code (no events/ folder in a wheel); they keep the real shape."""
    mine = built()
    real = json.loads((ROOT / "events" / recorded).read_text())
    # what the recorded one has because of its aliases, its console session or its config, not its shape
    incidental = ("/detail/responseElements/distribution/aliasICPRecordals", "/detail/tlsDetails",
                  "/detail/sessionCredentialFromConsole", "/detail/requestParameters/distributionConfig/",
                  "/detail/responseElements/distribution/distributionConfig/", "/detail/userIdentity/")
    keep = lambda paths: {p for p in paths if not p.startswith(incidental)}  # noqa: E731
    assert keep(_key_paths(mine)) == keep(_key_paths(real))
    assert (mine["source"], mine["detail"]["eventName"]) == (real["source"], real["detail"]["eventName"])


def test_demo_without_its_extras_says_what_to_install(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "moto" else find_spec(name, *a))
    assert cli.main(["demo"]) == 2
    assert capsys.readouterr().err == ("edgemedic: error: the demo needs its emulator and the Lambda libraries (moto "
                                       "missing): pip install 'edgemedic[demo]'\n")


@pytest.mark.slow
def test_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "-w", str(wheels), str(ROOT)], check=True, timeout=600)
    [wheel] = wheels.glob("edgemedic-*.whl")

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--disable-pip-version-check", "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "edgemedic_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")

    away = tmp_path / "elsewhere"
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "EDGEMEDIC_", "VIRTUAL_ENV"))}
    env.update(NO_COLOR="1", COLUMNS="100", PYTHONDONTWRITEBYTECODE="1")
    where = subprocess.run([str(python), "-c", "import edgemedic; print(edgemedic.__file__)"], cwd=away, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target)), where  # the wheel's edgemedic, not the checkout's

    done = subprocess.run([str(target / "bin" / "edgemedic"), "demo"], cwd=away, env=env, capture_output=True,
                          text=True, timeout=300)
    assert (done.returncode, done.stderr) == (0, ""), done.stdout[-2000:] + done.stderr
    assert done.stdout.count("Healed: ") == 6
    assert "edgemedic fixed 7 on its own as the changes arrived and 1 after @alice's approval" \
        in " ".join(done.stdout.split())
