"""Imports a v1-model function the way the Python worker does.

The app root goes on sys.path and the function folder is imported as a package named
after the folder, so `import shared` and relative imports behave as they do in Azure.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.app import AppError, FunctionSpec

logger = logging.getLogger(__name__)


def module_name(spec: FunctionSpec, root: Path) -> str:
    """`Folder` for `Folder/__init__.py`, `Folder.module` for `Folder/module.py`."""
    try:
        relative = spec.script_file.relative_to(root)
    except ValueError as error:
        raise AppError(f"{spec.name}: scriptFile must be inside the app root") from error
    if relative.suffix != ".py":
        raise AppError(f"{spec.name}: scriptFile must be a .py file")
    parts = list(relative.parts[:-1])
    if relative.stem != "__init__":
        parts.append(relative.stem)
    return ".".join(parts)


def _forget_foreign(name: str, root: Path) -> None:
    """Drop an already imported package of this name that belongs to another app root.

    One process serves one app in Azure; here tests load several small apps in turn, and a
    stale `sys.modules` entry would otherwise shadow this app's folder of the same name.
    """
    top = name.split(".")[0]
    module = sys.modules.get(top)
    origin = getattr(module, "__file__", None) if module else None
    if module is None or (origin and Path(origin).resolve().is_relative_to(root)):
        return
    for loaded in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
        del sys.modules[loaded]


def add_to_path(root: Path) -> None:
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()


def remove_from_path(root: Path) -> None:
    """Undo `add_to_path` when a host stops, so a test process does not accumulate roots."""
    while str(root) in sys.path:
        sys.path.remove(str(root))


def load_entry_point(spec: FunctionSpec, root: Path) -> Callable[..., Any]:
    """Import the function's module and return its entry point."""
    name = module_name(spec, root)
    if not spec.script_file.is_file():
        raise AppError(f"{spec.name}: scriptFile {spec.script_file.name} does not exist")
    add_to_path(root)
    _forget_foreign(name, root)
    module = importlib.import_module(name)
    entry = getattr(module, spec.entry_point, None)
    if entry is None or not inspect.isfunction(entry):
        raise AppError(f"{spec.name}: {name} has no function named {spec.entry_point!r}")
    logger.debug("loaded %s from %s.%s", spec.name, name, spec.entry_point)
    return entry
