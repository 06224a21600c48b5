"""End-to-end fixtures: the deployed app on the emulator (``edgemedic.local``, as the demo runs it)."""
from __future__ import annotations

from typing import Iterator

import pytest

from edgemedic import local
from edgemedic.emulator import Emulator
from edgemedic.handlers import runtime
from edgemedic.local import Stack

TABLE = "edgemedic-e2e"


@pytest.fixture
def powertools(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Powertools' settings as the template sets them (X-Ray off); the handlers' runtime is reset afterwards."""
    for name, value in local.powertools_env(TABLE).items():
        monkeypatch.setenv(name, value)
    yield
    runtime.reset()


@pytest.fixture
def stack(powertools: None) -> Iterator[Stack]:
    """The stack's table, apply queue and Powertools settings on the emulator."""
    with Emulator() as emu:
        yield local.start(emu, table=TABLE, api_regions=("us-east-1", "eu-west-1"))
