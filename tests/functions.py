"""How the function-level tests see a function fail, whether the worker ran it or not."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import pytest

from devhost.inprocess import FunctionFailed


@contextlib.contextmanager
def function_raises(expected: type[BaseException], match: str | None = None) -> Iterator[None]:
    """`pytest.raises` for a call to `<Folder>.main`, which the host answers by retrying.

    Run by the Python worker (see `functions_run_by_worker` in tests/conftest.py), the exception
    comes back as the worker reports it: the class named there must be `expected` or a subclass.
    Called directly (Python below 3.13), it is the exception itself.
    """
    with pytest.raises((expected, FunctionFailed)) as caught:
        yield
    error = caught.value
    if isinstance(error, FunctionFailed):
        raised, text = error.raised(), error.detail
    else:
        raised, text = type(error), str(error)
    assert raised is not None and issubclass(raised, expected), f"raised {error!r}"
    if match is not None:
        assert re.search(match, text), f"{text!r} does not match {match!r}"
