"""Which caller tokens are accepted: any token that fails verification, for any reason, is a
401 with one short log line; dates must be JSON numbers; AUTH_REQUIRED_SCOPE; key rotation."""

from __future__ import annotations

import logging
import ssl
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import IssueToken
from shared.auth import CallerAuthenticator
from shared.errors import Unauthenticated
from shared.settings import Settings
from tests.support import EmulatorClient, http_request


class FakeClock:
    """A monotonic clock the test moves by hand, so time-based behaviour needs no sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _authenticator(settings: dict[str, str], clock: FakeClock | None = None,
                   **options: object) -> CallerAuthenticator:
    return CallerAuthenticator(
        settings["AUTH_ISSUER"], (settings["AUTH_AUDIENCE"],),
        ssl_context=ssl.create_default_context(cafile=settings["REQUESTS_CA_BUNDLE"]),
        clock=clock or FakeClock(), **options,  # type: ignore[arg-type]
    )


def _claims(emulator: EmulatorClient, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": emulator.settings["AUTH_ISSUER"], "sub": "attacker", "iat": now, "nbf": now,
        "exp": now + 600, "aud": emulator.settings["AUTH_AUDIENCE"],
    }
    claims.update(overrides)
    return claims


_CURVES = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}


@pytest.mark.parametrize("alg", sorted(_CURVES))
def test_issue_token_ec_token_with_issuer_rsa_kid_401_one_log_line(
    alg: str, app_env: dict[str, str], emulator: EmulatorClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    kid = jwt.get_unverified_header(emulator.mint("x"))["kid"]
    forged = jwt.encode(_claims(emulator), ec.generate_private_key(_CURVES[alg]),
                        algorithm=alg, headers={"kid": kid})
    caplog.set_level(logging.INFO)
    caplog.clear()

    response = IssueToken.main(http_request("POST", "token", token=forged))

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert not [r for r in caplog.records if r.exc_info]
    auth_lines = [r.getMessage() for r in caplog.records if r.name == "shared.auth"]
    assert len(auth_lines) == 1 and "\n" not in auth_lines[0]
    assert "key type" in auth_lines[0]
    assert emulator.counters()["identity.create"] == 0


@pytest.mark.parametrize(("claim", "kind"), [
    ("exp", "string"), ("exp", "bool"), ("exp", "list"), ("nbf", "string"), ("nbf", "bool"),
    ("iat", "string"), ("iat", "bool"),
])
def test_authenticator_date_claim_not_a_json_number_refused(
    claim: str, kind: str, emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    now = int(time.time())
    good = {"exp": now + 600, "nbf": now, "iat": now}[claim]
    value = {"string": str(good), "bool": kind == "bool" and claim == "exp", "list": [good]}[kind]
    token = emulator.mint("user-1", claims={claim: value})
    with pytest.raises(Unauthenticated):
        _authenticator(emulator_settings).authenticate(f"Bearer {token}")


def test_authenticator_numeric_dates_accepted(
    emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    now = time.time()
    token = emulator.mint("user-1", claims={"exp": now + 600.5, "nbf": now, "iat": now})
    caller = _authenticator(emulator_settings).authenticate(f"Bearer {token}")
    assert caller.subject == "sub:user-1"


@pytest.mark.parametrize("authorization", [
    "Bearer {t}\n", "Bearer {t}\r\n", "Bearer  {t}", "Bearer {t}, Bearer {t}", "Bearer {t},x",
])
def test_authenticator_malformed_bearer_refused(
    authorization: str, emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    token = emulator.mint("user-1")
    with pytest.raises(Unauthenticated):
        _authenticator(emulator_settings).authenticate(authorization.format(t=token))


# Signing-key rotation (numbers documented in the README's security section).

def test_authenticator_new_kid_fetched_at_once_after_refresh_interval(
    emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    clock = FakeClock()
    authenticator = _authenticator(emulator_settings, clock)
    assert authenticator.authenticate(f"Bearer {emulator.mint('a')}").subject == "sub:a"
    emulator.rotate_oidc_key()
    rotated = emulator.mint("b")
    clock.now += CallerAuthenticator.REFRESH_INTERVAL_SECONDS

    assert authenticator.authenticate(f"Bearer {rotated}").subject == "sub:b"
    assert emulator.counters()["oidc.jwks"] == 2


def test_authenticator_unknown_kid_flood_one_fetch_per_interval(
    emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    clock = FakeClock()
    authenticator = _authenticator(emulator_settings, clock)
    kid = "no-such-key"
    forged = jwt.encode(_claims(emulator), ec.generate_private_key(ec.SECP256R1()),
                        algorithm="ES256", headers={"kid": kid})
    for interval in range(3):
        for _ in range(50):
            with pytest.raises(Unauthenticated):
                authenticator.authenticate(f"Bearer {forged}")
            clock.now += 0.01
        assert emulator.counters()["oidc.jwks"] == interval + 1
        clock.now += CallerAuthenticator.REFRESH_INTERVAL_SECONDS


def test_authenticator_withdrawn_key_refused_once_key_set_expires(
    emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    clock = FakeClock()
    authenticator = _authenticator(emulator_settings, clock)
    old = emulator.mint("a")
    assert authenticator.authenticate(f"Bearer {old}").subject == "sub:a"
    old_kid = jwt.get_unverified_header(old)["kid"]
    assert old_kid not in emulator.rotate_oidc_key(retain_previous=False)

    clock.now += CallerAuthenticator.KEY_SET_LIFESPAN_SECONDS - 1
    assert authenticator.authenticate(f"Bearer {old}").subject == "sub:a"  # still cached
    clock.now += 1
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(f"Bearer {old}")
    assert authenticator.authenticate(f"Bearer {emulator.mint('b')}").subject == "sub:b"
    assert emulator.counters()["oidc.jwks"] == 2


# AUTH_REQUIRED_SCOPE: only access tokens issued for this API.

def test_settings_required_scope_read() -> None:
    env = {"ACS_ENDPOINT": "https://c.communication.azure.com", "AUTH_ISSUER": "https://i",
           "AUTH_AUDIENCE": "api://a", "IDENTITY_TABLE_ENDPOINT": "https://a.table.x"}
    assert Settings.from_env(env).auth_required_scope is None
    settings = Settings.from_env({**env, "AUTH_REQUIRED_SCOPE": "access_as_user"})
    assert settings.auth_required_scope == "access_as_user"


@pytest.mark.parametrize(("scp", "accepted"), [
    (None, False), ("", False), ("other", False), ("access_as_user", True),
    ("openid access_as_user profile", True), (["access_as_user"], False),
    ("access_as_user_x", False),
])
def test_authenticator_required_scope_checked_in_scp(
    scp: object, accepted: bool, emulator: EmulatorClient, emulator_settings: dict[str, str],
) -> None:
    authenticator = _authenticator(emulator_settings, required_scope="access_as_user")
    claims = {} if scp is None else {"scp": scp}
    token = f"Bearer {emulator.mint('user-1', claims=claims)}"
    if accepted:
        assert authenticator.authenticate(token).subject == "sub:user-1"
    else:
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(token)


def test_issue_token_id_token_refused_when_scope_required(
    app_env: dict[str, str], emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.services import use_services

    monkeypatch.setenv("AUTH_REQUIRED_SCOPE", "access_as_user")
    use_services(None)
    id_token = emulator.mint("user-1")  # right audience, no scp: an ID token's shape
    access = emulator.mint("user-1", claims={"scp": "access_as_user"})

    assert IssueToken.main(http_request("POST", "token", token=id_token)).status_code == 401
    assert IssueToken.main(http_request("POST", "token", token=access)).status_code == 200
