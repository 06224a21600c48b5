"""``python3 dev.py run ...`` as a person uses it: relative paths land where they stand, and Ctrl-C ends it with one
line and exit 130, no traceback. A moto server (empty account) and a silent socket on 127.0.0.1 stand in for AWS."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]


def _env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    return {**env, "AWS_ENDPOINT_URL": endpoint}


def test_run_writes_a_relative_output_where_the_user_stands(tmp_path: Path) -> None:
    stray = ROOT / "rel.json"
    before = stray.stat().st_mtime_ns if stray.exists() else None
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"),
                               timeout=10)
        done = subprocess.run([sys.executable, str(ROOT / "dev.py"), "run", "scan", "--format", "json", "--output",
                               "rel.json"], cwd=tmp_path, env=_env(f"http://{host}:{port}"), capture_output=True,
                              text=True, timeout=300)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "rel.json").read_text())["findings"] == []
    assert (stray.stat().st_mtime_ns if stray.exists() else None) == before  # nothing written in the checkout


def test_ctrl_c_through_dev_py_is_one_line_and_exit_130(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # accepts (the kernel does) and never answers
    try:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "dev.py"), "run", "scan", "--read-timeout", "60"], cwd=tmp_path,
            env=_env(f"http://127.0.0.1:{listener.getsockname()[1]}"), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        time.sleep(4)  # edgemedic is waiting for the answer
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=60)
    finally:
        listener.close()
    assert proc.returncode == 130
    assert (out, err) == ("", "edgemedic: interrupted\n")
