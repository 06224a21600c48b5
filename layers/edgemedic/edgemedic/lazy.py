"""Modules imported on first use, so commands that never touch them start fast.

    report = lazy_module("edgemedic.report")   # nothing imported yet
    report.render_json(...)                    # imported here, once

The standard library's ``importlib.util.LazyLoader`` recipe: the module object exists at once and its code runs on
the first attribute access. A module already imported is returned as it is.
"""
from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
