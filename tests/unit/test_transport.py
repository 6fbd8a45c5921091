"""The shared transport: pool sized to the worker's threads; environment read once."""

from __future__ import annotations

import pytest
from requests.adapters import HTTPAdapter

from shared.clients.transport import DEFAULT_POOL_SIZE, MAX_POOL_SIZE, build_transport, pool_size


@pytest.mark.parametrize(("raw", "size"), [
    (None, DEFAULT_POOL_SIZE), ("", DEFAULT_POOL_SIZE), ("x", DEFAULT_POOL_SIZE), ("8", 8),
    ("0", 1), ("100000", MAX_POOL_SIZE),
])
def test_pool_size_follows_worker_threads(raw: str | None, size: int) -> None:
    env = {} if raw is None else {"PYTHON_THREADPOOL_THREAD_COUNT": raw}

    assert pool_size(env) == size


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_build_transport_no_proxy_environment_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxies(monkeypatch)
    monkeypatch.setenv("NO_PROXY", "localhost")  # no proxy at all: nothing to apply per URL

    transport = build_transport({"PYTHON_THREADPOOL_THREAD_COUNT": "48",
                                 "REQUESTS_CA_BUNDLE": "/ca.pem"})

    session = transport.session
    assert session is not None and session.trust_env is False
    adapter = session.get_adapter("https://acs.example")
    assert isinstance(adapter, HTTPAdapter)
    assert adapter._pool_maxsize == 48  # type: ignore[attr-defined]
    assert transport.connection_config.verify == "/ca.pem"


def test_build_transport_with_proxy_keeps_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxies(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")

    transport = build_transport({"HTTPS_PROXY": "http://proxy.example:3128"})

    assert transport.session is not None and transport.session.trust_env is True
    assert transport.connection_config.verify is True
