"""What counts as a key in a setting's value, however it is spelled, and the one storage key the
service accepts: Azurite's public development account, exactly, on loopback endpoints only.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

# The public Azurite development account: the only storage key this service accepts,
# and only when every endpoint in the connection string is on loopback.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_TABLE_ENDPOINT = f"http://127.0.0.1:10002/{AZURITE_ACCOUNT}"

# After folding (NFKC, lower case, no spaces or invisible characters): an ACS or Service Bus
# `accesskey=` / `sharedaccesskey=`, a storage `accountkey=`, a SAS (`sharedaccesssignature=`
# or a `sig=` query parameter), or a URL carrying credentials in its user part.
_ACS_KEY = re.compile(r"accesskey=")
_KEY = re.compile(r"accesskey=|accountkey=|sharedaccesssignature=|(?:^|[;&?])sig=")
_USERINFO = re.compile(r"[a-z][a-z0-9+.\-]*://[^/?#]*@")
# Connection string keys an Azurite development connection may hold; anything else (an
# EndpointSuffix, a SAS, a proxy) could send the request, and the key, somewhere else.
_DEVELOPMENT_KEYS = frozenset({
    "defaultendpointsprotocol", "accountname", "accountkey",
    "blobendpoint", "queueendpoint", "tableendpoint",
})


def fold(value: str) -> str:
    """The value as a comparison sees it: compatibility forms folded (fullwidth letters), lower
    case, and every space, tab, no-break space and invisible format character removed."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(ch for ch in folded
                   if not (ch.isspace() or unicodedata.category(ch) in ("Cf", "Zs", "Cc")))


def carries_acs_key(value: str) -> bool:
    """Whether a value holds an ACS (or any `SharedAccessKey`) access key."""
    return _ACS_KEY.search(fold(value)) is not None


def carries_key(value: str) -> bool:
    """Whether a value holds an access key, a storage key or SAS, or credentials in a URL."""
    folded = fold(value)
    return _KEY.search(folded) is not None or _USERINFO.search(folded) is not None


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_connection_string(value: str) -> dict[str, str]:
    """Split `k=v;k=v` into a dict with lower-case keys (values may contain '=')."""
    parts = (item.split("=", 1) for item in value.split(";") if item.strip())
    return {key.strip().lower(): val.strip() for key, val in (p for p in parts if len(p) == 2)}


def development_endpoints(value: str) -> dict[str, str] | None:
    """The endpoints of Azurite's development account (`table`, `queue`, `blob`), or None.

    Accepted: exactly `UseDevelopmentStorage=true` (Azurite's default ports), or a connection
    string with the public account name and key, each key once, nothing but those and the
    endpoints, and every endpoint an http(s) URL on a loopback host without credentials.
    """
    if fold(value).rstrip(";") == "usedevelopmentstorage=true":
        return {"table": AZURITE_TABLE_ENDPOINT}
    items = [item for item in value.split(";") if item.strip()]
    parts: dict[str, str] = {}
    for item in items:
        key, sep, val = item.partition("=")
        name = fold(key)
        if not sep or name in parts or name not in _DEVELOPMENT_KEYS:
            return None
        parts[name] = val.strip()
    if parts.get("accountname") != AZURITE_ACCOUNT or parts.get("accountkey") != AZURITE_KEY:
        return None
    endpoints = {name.removesuffix("endpoint"): url for name, url in parts.items()
                 if name.endswith("endpoint")}
    if not endpoints or not all(_loopback_url(url) for url in endpoints.values()):
        return None
    return endpoints


def is_development_storage(value: str) -> bool:
    """True for Azurite's development connection: the public key, loopback endpoints only."""
    return development_endpoints(value) is not None


def _loopback_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and "@" not in parts.netloc
            and not parts.query and not parts.fragment and is_loopback_host(host))
