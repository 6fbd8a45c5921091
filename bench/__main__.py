"""Run every benchmark in turn: `python -m bench` (or `make bench`)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    for module in sorted(pkgutil.iter_modules([str(Path(__file__).parent)])):
        if module.name.endswith("_bench"):
            print(f"== bench.{module.name}")
            importlib.import_module(f"bench.{module.name}").main([])
            print()


if __name__ == "__main__":
    main()
