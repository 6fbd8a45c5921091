"""The one HTTP transport the service's Azure clients share: a keep-alive requests session with
a connection pool sized to the worker's threads, proxy and CA settings read once at start.

azure-core's default requests transport keeps `trust_env` on, so every call merges proxy and CA
settings from the whole environment again (hundreds of microseconds with a large environment).
Here that is done once; only when a proxy is configured does requests keep reading the
environment, because `no_proxy` can only be applied per URL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

# The Python worker runs sync functions on a thread pool of PYTHON_THREADPOOL_THREAD_COUNT
# threads; unset, Python's default for it is at most 32. One pooled connection per thread
# means no call ever discards a connection (and pays a new TLS handshake) under full load.
DEFAULT_POOL_SIZE = 32
MAX_POOL_SIZE = 256
# Distinct hosts kept pooled at once: ACS, the table endpoint, and a few spare.
POOLED_HOSTS = 8


# What requests reads for proxies (either case); NO_PROXY alone configures none.
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                    "all_proxy")


def ca_bundle(environ: Mapping[str, str]) -> str | None:
    """The CA bundle override requests honours (a local CA in development), if any."""
    return environ.get("REQUESTS_CA_BUNDLE") or environ.get("CURL_CA_BUNDLE") or None


def pool_size(environ: Mapping[str, str]) -> int:
    raw = environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "").strip()
    try:
        threads = int(raw)
    except ValueError:
        return DEFAULT_POOL_SIZE
    return max(1, min(threads, MAX_POOL_SIZE))


def build_transport(environ: Mapping[str, str] | None = None) -> RequestsTransport:
    """A transport to share between the ACS pipeline and the Table clients (never closed:
    it lives as long as the worker process)."""
    env = os.environ if environ is None else environ
    session = requests.Session()
    proxied = any(env.get(name) for name in _PROXY_VARIABLES)
    session.trust_env = proxied
    if proxied:
        logger.info("A proxy is configured: HTTP settings are read from the environment per call")
    # azure-core's own retry policies retry; the adapter must not retry underneath them.
    adapter = HTTPAdapter(pool_connections=POOLED_HOSTS, pool_maxsize=pool_size(env),
                          max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    # With trust_env off, requests no longer reads the CA bundle override itself.
    verify: bool | str = ca_bundle(env) or True
    return RequestsTransport(session=session, session_owner=False, connection_verify=verify)
