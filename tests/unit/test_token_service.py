"""TokenService over the in-memory identity map and a fake ACS transport."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from shared.auth.caller import Caller
from shared.clients.acs import AcsClient
from shared.config.settings import Settings
from shared.errors import ValidationError
from shared.identity.map import InMemoryIdentityMap
from shared.identity.tokens import TokenRequest, TokenService
from tests.unit.transport import FakeTransport, StaticCredential

CALLER = Caller(issuer="https://issuer.example", subject="sub:alice", roles=frozenset())
SETTINGS = Settings(acs_endpoint="https://acs.example", auth_issuer="https://issuer.example",
                    auth_audiences=("api",), table_endpoint="https://t.example")


class FakeAcs:
    """Identities and tokens as ACS answers them, counted per operation."""

    def __init__(self) -> None:
        self.created = 0
        self.deleted: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, request: Any) -> tuple[int, dict[str, str], Any]:
        token = {"token": "t", "expiresOn": "2030-01-01T00:00:00Z"}
        if request.method == "DELETE":
            self.deleted.append(request.url.split("/identities/")[1].split("?")[0])
            return 204, {}, None
        if request.url.split("?")[0].endswith("/identities"):
            with self.lock:
                self.created += 1
                identity = f"8:acs:{self.created}"
            return 201, {}, {"identity": {"id": identity}, "accessToken": token}
        return 200, {}, token


def _service() -> tuple[TokenService, FakeAcs, InMemoryIdentityMap]:
    acs = FakeAcs()
    identities = InMemoryIdentityMap()
    client = AcsClient("https://acs.example", StaticCredential(),
                       retry_seconds=0, transport=FakeTransport(acs))
    return TokenService(client, identities), acs, identities


def test_token_service_first_use_creates_once_then_reuses() -> None:
    service, acs, identities = _service()
    request = TokenRequest.parse(None, SETTINGS)

    first = service.issue_token(CALLER, request)
    second = service.issue_token(CALLER, request)

    assert first.communication_user_id == second.communication_user_id == identities.get(CALLER)
    assert acs.created == 1


def test_token_service_concurrent_first_calls_one_mapping_losers_deleted() -> None:
    service, acs, identities = _service()
    barrier = threading.Barrier(8)
    seen: list[str] = []

    def first_call() -> None:
        barrier.wait()
        seen.append(service.ensure_identity(CALLER)[0])

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    kept = identities.get(CALLER)
    assert set(seen) == {kept}
    assert len(acs.deleted) == acs.created - 1 and kept not in acs.deleted


@pytest.mark.parametrize("body", [
    {"scopes": ["voip.join"]}, {"scopes": []}, {"scopes": "chat"}, {"expiresInMinutes": 59},
    {"expiresInMinutes": 1441}, {"expiresInMinutes": True}, {"other": 1}, [],
])
def test_token_request_invalid_body_validation_error(body: Any) -> None:
    with pytest.raises(ValidationError):
        TokenRequest.parse(body, SETTINGS)


def test_token_request_defaults_from_settings() -> None:
    request = TokenRequest.parse(None, SETTINGS)

    assert request.scopes == ("chat", "voip") and request.expires_in_minutes == 60
