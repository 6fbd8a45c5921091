"""Imports a v1-model function the way the Python worker does.

The app root is appended to sys.path and each function folder is imported under the
`__app__` namespace package (`__app__.<Folder>`), so `import shared` and relative imports
behave as they do in Azure.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devhost.app import AppError, FunctionSpec

logger = logging.getLogger(__name__)

NAMESPACE = "__app__"


def module_name(spec: FunctionSpec, root: Path) -> str:
    """`__app__.Folder` for `Folder/__init__.py`, `__app__.Folder.module` for `Folder/module.py`."""
    try:
        relative = spec.script_file.relative_to(root)
    except ValueError as error:
        raise AppError(f"{spec.name}: scriptFile must be inside the app root") from error
    if relative.suffix != ".py":
        raise AppError(f"{spec.name}: scriptFile must be a .py file")
    parts = [NAMESPACE, *relative.parts[:-1]]
    if relative.stem.lower() != "__init__":
        parts.append(relative.stem)
    return ".".join(parts)


def _namespace(root: Path) -> None:
    """Point the `__app__` namespace package at this app root, forgetting another app's modules.

    One process serves one app in Azure; here tests load several small apps in turn, and a
    stale `sys.modules` entry would otherwise shadow this app's folder of the same name.
    """
    package = sys.modules.get(NAMESPACE)
    if package is not None and list(package.__path__) == [str(root)]:
        return
    for loaded in [m for m in sys.modules if m == NAMESPACE or m.startswith(NAMESPACE + ".")]:
        del sys.modules[loaded]
    spec = importlib.machinery.ModuleSpec(NAMESPACE, None, is_package=True)
    spec.submodule_search_locations = [str(root)]
    package = importlib.util.module_from_spec(spec)
    sys.modules[NAMESPACE] = package


def add_to_path(root: Path) -> None:
    # The worker appends the app root: installed packages win over same-named app folders.
    if str(root) not in sys.path:
        sys.path.append(str(root))
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
    _namespace(root)
    module = importlib.import_module(name)
    entry = getattr(module, spec.entry_point, None)
    if entry is None or not inspect.isfunction(entry):
        raise AppError(f"{spec.name}: {name} has no function named {spec.entry_point!r}")
    logger.debug("loaded %s from %s.%s", spec.name, name, spec.entry_point)
    return entry
