"""Application settings: read from the environment once, validated, frozen.

Every missing or bad setting is named in one ConfigurationError. Values are never echoed
back in messages, because a mistaken value may be a secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from shared.config.key_refusal import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    carries_acs_key,
    carries_key,
    development_endpoints,
    is_development_storage,
    is_loopback_host,
    parse_connection_string,
)

__all__ = [
    "AZURITE_ACCOUNT", "AZURITE_KEY", "ConfigurationError", "Settings", "carries_key",
    "is_development_storage", "is_loopback_host", "parse_connection_string",
]

ACS_SCOPES = frozenset({"chat", "voip", "chat.join", "chat.join.limited", "voip.join"})
TOKEN_MINUTES_MIN, TOKEN_MINUTES_MAX = 60, 1440
# The most recipients one request may carry: as many 15-digit numbers as fit in the 64 KiB
# body limit beside the longest message (tests/sms/test_config.py holds the two together).
SMS_MAX_RECIPIENTS_LIMIT = 2000
# Fixed in IdentityEvents/function.json (a test holds the two together): a queue name taken
# from a setting would make the host refuse to start wherever that setting is missing.
IDENTITY_EVENTS_QUEUE = "identity-events"
IDENTITY_EVENTS_DEADLETTER_QUEUE = f"{IDENTITY_EVENTS_QUEUE}-deadletter"

# Settings that can only hold an ACS access key: their mere presence is refused.
_KEY_SETTINGS = (
    "ACS_CONNECTION_STRING",
    "ACS_ACCESS_KEY",
    "COMMUNICATION_SERVICES_CONNECTION_STRING",
)
# The settings this service reads: none may carry a key of any kind (the platform's own
# settings, such as a run-from-package SAS URL, are not the service's to judge).
_OWN_SETTINGS = (
    "ACS_ENDPOINT", "AZURE_CLIENT_ID", "AUTH_ISSUER", "AUTH_AUDIENCE", "AUTH_REQUIRED_SCOPE",
    "TOKEN_SCOPES", "TOKEN_EXPIRES_MINUTES", "SMS_FROM", "SMS_SEND_ROLE", "SMS_MAX_RECIPIENTS",
    "SMS_ALLOWED_COUNTRY_CODES", "IDENTITY_TABLE_NAME", "SMS_IDEMPOTENCY_TABLE_NAME",
    "ACS_RETRY_SECONDS",
)
# Matched whole (fullmatch): `$` would accept a trailing newline.
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_TABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{2,62}")
# `scp` is space-separated (RFC 8693 4.2), so one scope is printable ASCII without spaces.
_SCOPE_NAME = re.compile(r"[\x21-\x7e]{1,256}")
_ROLE = re.compile(r"[\w.\-:/]{1,120}")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
_SENDER_ID = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}|\d{5,6}")

T = TypeVar("T")
Number = TypeVar("Number", int, float)


class ConfigurationError(RuntimeError):
    """The app is misconfigured; the message names every bad setting and what to do."""


@dataclass(frozen=True)
class Settings:
    acs_endpoint: str
    auth_issuer: str
    auth_audiences: tuple[str, ...]
    table_endpoint: str
    azure_client_id: str | None = None
    auth_required_scope: str | None = None
    token_scopes: frozenset[str] = frozenset({"chat", "voip"})
    token_expires_minutes: int = 60
    sms_from: str | None = None
    sms_send_role: str = "Sms.Send"
    identity_admin_role: str = "Identity.Admin"
    sms_max_recipients: int = 1000
    sms_allowed_regions: frozenset[str] = frozenset()
    sms_send_concurrency: int = 5
    identity_table_name: str = "AcsIdentities"
    idempotency_table_name: str = "SmsIdempotency"
    acs_retry_seconds: float = 20.0
    identity_cache_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        return _Reader(os.environ if environ is None else environ).settings()


class _Reader:
    """Collects every problem before failing, so one start-up error lists them all."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.env = environ
        self.problems: list[str] = []

    def _get(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def _required(self, name: str, hint: str) -> str:
        value = self._get(name)
        if value is None:
            self.problems.append(f"{name} is required: {hint}")
            return ""
        return value

    def _parse(self, name: str, default: T, parse: Callable[[str], T], hint: str) -> T:
        raw = self._get(name)
        if raw is None:
            return default
        try:
            return parse(raw)
        except ValueError:
            self.problems.append(f"{name} is not valid: {hint}")
            return default

    def _https_url(self, name: str, raw: str, *, origin_only: bool) -> str:
        if not raw:
            return raw
        parts = urlsplit(raw)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and is_loopback_host(parts.hostname)
        )
        if "@" in parts.netloc:
            # Credentials in the URL would be sent along; the service holds none.
            self.problems.append(f"{name} must not carry credentials (user:password@)")
        elif not secure or not parts.hostname or parts.query or parts.fragment:
            self.problems.append(f"{name} must be an https:// URL without query or fragment")
        elif origin_only and parts.path not in ("", "/"):
            self.problems.append(f"{name} must be the resource's base URL, without a path")
        # An issuer is compared to `iss` exactly, so only endpoints lose a trailing slash.
        return raw.rstrip("/") if origin_only else raw

    def _refuse_keys(self) -> None:
        for name in _KEY_SETTINGS:
            if self._get(name):
                self.problems.append(
                    f"{name} must not be set: the service never holds an ACS access key; "
                    "set ACS_ENDPOINT and grant the app's managed identity access to ACS"
                )
        for name, value in self.env.items():
            if name not in _KEY_SETTINGS and carries_acs_key(value):
                self.problems.append(
                    f"{name} carries an ACS access key: remove it; the service authenticates "
                    "to ACS with managed identity only"
                )
            elif name in _OWN_SETTINGS and carries_key(value):
                self.problems.append(
                    f"{name} carries a key or credentials: the service authenticates with "
                    "managed identity only"
                )
        storage = self._get("AzureWebJobsStorage")
        if storage and (carries_key(storage) or "=" in storage) \
                and not is_development_storage(storage):
            self.problems.append(
                "AzureWebJobsStorage carries a storage key or is a connection string: use an "
                "identity-based connection (AzureWebJobsStorage__accountName) instead; only "
                "Azurite's development account on loopback is accepted"
            )

    def _identity_table(self) -> str:
        raw = self._required(
            "IDENTITY_TABLE_ENDPOINT",
            "the Table Storage endpoint, e.g. https://<account>.table.core.windows.net",
        )
        if "=" in raw or carries_key(raw):
            if "table" not in (development_endpoints(raw) or {}):
                self.problems.append(
                    "IDENTITY_TABLE_ENDPOINT must be a Table endpoint URL (managed identity); "
                    "a connection string is accepted only for the Azurite development account "
                    "on loopback"
                )
            return raw
        return self._https_url("IDENTITY_TABLE_ENDPOINT", raw, origin_only=False)

    def settings(self) -> Settings:
        self._refuse_keys()
        acs = self._https_url(
            "ACS_ENDPOINT",
            self._required("ACS_ENDPOINT", "https://<resource>.communication.azure.com"),
            origin_only=True,
        )
        issuer = self._https_url(
            "AUTH_ISSUER",
            self._required("AUTH_ISSUER", "the OIDC issuer URL of app-user tokens"),
            origin_only=False,
        )
        audiences = tuple(
            a.strip()
            for a in self._required("AUTH_AUDIENCE", "accepted audience(s), comma-separated")
            .split(",")
            if a.strip()
        )
        table = self._identity_table()
        client_id = self._get("AZURE_CLIENT_ID")
        if client_id is not None and not _GUID.fullmatch(client_id):
            self.problems.append("AZURE_CLIENT_ID must be the GUID client id of a managed identity")
        settings = Settings(
            acs_endpoint=acs,
            auth_issuer=issuer,
            auth_audiences=audiences,
            table_endpoint=table,
            azure_client_id=client_id,
            auth_required_scope=self._parse(
                "AUTH_REQUIRED_SCOPE", None, _scope_name,
                "one scope name as access tokens carry it in scp, e.g. access_as_user",
            ),
            token_scopes=self._parse(
                "TOKEN_SCOPES", Settings.token_scopes, _scopes,
                f"a comma-separated subset of {', '.join(sorted(ACS_SCOPES))}",
            ),
            token_expires_minutes=self._parse(
                "TOKEN_EXPIRES_MINUTES", Settings.token_expires_minutes,
                _number_in(int, TOKEN_MINUTES_MIN, TOKEN_MINUTES_MAX),
                f"a whole number of minutes from {TOKEN_MINUTES_MIN} to {TOKEN_MINUTES_MAX}",
            ),
            sms_from=self._parse("SMS_FROM", None, _sender, "an E.164 number, short code or "
                                 "alphanumeric sender id of the ACS resource"),
            sms_send_role=self._parse("SMS_SEND_ROLE", Settings.sms_send_role, _role,
                                      "an app role name"),
            identity_admin_role=self._parse(
                "IDENTITY_ADMIN_ROLE", Settings.identity_admin_role, _role, "an app role name"
            ),
            sms_max_recipients=self._parse(
                "SMS_MAX_RECIPIENTS", Settings.sms_max_recipients,
                _number_in(int, 1, SMS_MAX_RECIPIENTS_LIMIT),
                f"a whole number from 1 to {SMS_MAX_RECIPIENTS_LIMIT}",
            ),
            sms_send_concurrency=self._parse(
                "SMS_SEND_CONCURRENCY", Settings.sms_send_concurrency, _number_in(int, 1, 16),
                "a whole number from 1 to 16 (ACS send calls in flight per request)",
            ),
            sms_allowed_regions=self._parse(
                "SMS_ALLOWED_COUNTRY_CODES", Settings.sms_allowed_regions, _regions,
                "comma-separated ISO 3166 region codes such as US,CA,GB",
            ),
            identity_table_name=self._parse(
                "IDENTITY_TABLE_NAME", Settings.identity_table_name, _table_name,
                "3-63 letters and digits, starting with a letter",
            ),
            idempotency_table_name=self._parse(
                "SMS_IDEMPOTENCY_TABLE_NAME", Settings.idempotency_table_name, _table_name,
                "3-63 letters and digits, starting with a letter",
            ),
            acs_retry_seconds=self._parse(
                "ACS_RETRY_SECONDS", Settings.acs_retry_seconds, _number_in(float, 0.0, 90.0),
                "seconds from 0 to 90 (keep it well inside functionTimeout)",
            ),
            identity_cache_seconds=self._parse(
                "IDENTITY_CACHE_SECONDS", Settings.identity_cache_seconds,
                _number_in(float, 0.0, 3600.0),
                "seconds from 0 to 3600 (0: read the identity map on every token request)",
            ),
        )
        if not audiences and not any(p.startswith("AUTH_AUDIENCE") for p in self.problems):
            self.problems.append("AUTH_AUDIENCE must name at least one audience")
        if self.problems:
            raise ConfigurationError(
                "Invalid configuration:\n- " + "\n- ".join(self.problems)
            )
        return settings


def _number_in(kind: Callable[[str], Number], low: Number, high: Number
               ) -> Callable[[str], Number]:
    """A parser of an `int` or `float` setting that refuses values outside [low, high]."""
    def parse(raw: str) -> Number:
        value = kind(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    """A parser of a setting that `pattern` must match whole."""
    def parse(raw: str) -> str:
        if not pattern.fullmatch(raw):
            raise ValueError(raw)
        return raw

    return parse


_scope_name = _matching(_SCOPE_NAME)
_role = _matching(_ROLE)
_table_name = _matching(_TABLE_NAME)


def _scopes(raw: str) -> frozenset[str]:
    scopes = frozenset(s.strip() for s in raw.split(",") if s.strip())
    if not scopes or not scopes <= ACS_SCOPES:
        raise ValueError(raw)
    return scopes


def _sender(raw: str) -> str:
    if not (_E164.fullmatch(raw) or _SENDER_ID.fullmatch(raw)):
        raise ValueError(raw)
    return raw


def _regions(raw: str) -> frozenset[str]:
    import phonenumbers  # only when an allowlist is set: token-only workers never load it

    regions = frozenset(r.strip().upper() for r in raw.split(",") if r.strip())
    if not regions <= phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(raw)
    return regions
