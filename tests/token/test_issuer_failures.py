"""An issuer that is down or misbehaving: 503 for the caller, never 401 or 500, and fast.

The emulator's issuer always serves a well-formed JWKS, so these tests run a small issuer
on loopback whose discovery document and key set each test chooses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.auth import CallerAuthenticator
from shared.errors import Unauthenticated, UpstreamUnavailable

KID = "test-key"


class Issuer:
    """Serves `/.well-known/openid-configuration` and `/jwks` with test-chosen answers."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.requests: list[str] = []
        self.discovery: Callable[[str], tuple[int, dict[str, str], bytes]] = self._discovery
        self.jwks: Callable[[], tuple[int, bytes]] = self._jwks
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.requests.append(self.path)
                if self.path.endswith("openid-configuration"):
                    status, headers, body = issuer.discovery(issuer.url)
                else:
                    status, body = issuer.jwks()
                    headers = {}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _discovery(self, url: str) -> tuple[int, dict[str, str], bytes]:
        return 200, {}, json.dumps({"issuer": url, "jwks_uri": f"{url}/jwks"}).encode()

    def _jwks(self) -> tuple[int, bytes]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return 200, json.dumps({"keys": [{**public, "kid": KID, "use": "sig"}]}).encode()

    def token(self, sub: str = "user", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.url, "aud": "api://app", "sub": sub, "iat": now, "exp": now + 600,
                **claims}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": KID})

    def authenticator(self) -> CallerAuthenticator:
        return CallerAuthenticator(self.url, ("api://app",), timeout_seconds=2)


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def test_authenticator_healthy_local_issuer_accepts_token(issuer: Issuer) -> None:
    assert issuer.authenticator().authenticate(f"Bearer {issuer.token()}").subject == "sub:user"


@pytest.mark.parametrize(
    "jwks",
    [
        (200, b"<html>maintenance</html>"),
        (200, b'{"keys": []}'),
        (200, b'["not", "an", "object"]'),
        (200, b'{"keys": [{"kty": "unknown", "kid": "test-key"}]}'),
        (500, b"{}"),
    ],
    ids=["html", "no_keys", "not_object", "unusable_key", "server_error"],
)
def test_authenticator_unusable_jwks_unavailable_not_unauthenticated(
    jwks: tuple[int, bytes], issuer: Issuer
) -> None:
    issuer.jwks = lambda: jwks
    with pytest.raises(UpstreamUnavailable):
        issuer.authenticator().authenticate(f"Bearer {issuer.token()}")


@pytest.mark.parametrize(
    "discovery",
    [
        lambda url: (200, {}, json.dumps({"issuer": "https://other", "jwks_uri": f"{url}/jwks"})
                     .encode()),
        lambda url: (200, {}, json.dumps({"issuer": url,
                                          "jwks_uri": "http://keys.example/jwks"}).encode()),
        lambda url: (200, {}, json.dumps({"issuer": url}).encode()),
        lambda url: (302, {"Location": f"{url}/elsewhere"}, b""),
        lambda url: (200, {}, b"not json"),
    ],
    ids=["issuer_mismatch", "plain_http_remote_jwks", "no_jwks_uri", "redirect", "not_json"],
)
def test_authenticator_bad_discovery_unavailable(
    discovery: Callable[[str], tuple[int, dict[str, str], bytes]], issuer: Issuer
) -> None:
    issuer.discovery = discovery
    with pytest.raises(UpstreamUnavailable):
        issuer.authenticator().authenticate(f"Bearer {issuer.token()}")
    assert all("elsewhere" not in path for path in issuer.requests)


def test_authenticator_after_failure_answers_fast_without_refetching(issuer: Issuer) -> None:
    issuer.jwks = lambda: (503, b"")
    authenticator = issuer.authenticator()
    with pytest.raises(UpstreamUnavailable):
        authenticator.authenticate(f"Bearer {issuer.token()}")
    seen = len(issuer.requests)

    for _ in range(5):
        with pytest.raises(UpstreamUnavailable) as raised:
            authenticator.authenticate(f"Bearer {issuer.token()}")
        assert raised.value.retry_after is not None

    assert len(issuer.requests) == seen


def test_authenticator_oid_and_sub_namespaces_never_collide(issuer: Issuer) -> None:
    authenticator = issuer.authenticator()
    by_sub = authenticator.authenticate(f"Bearer {issuer.token('same-value')}")
    by_oid = authenticator.authenticate(f"Bearer {issuer.token('x', oid='same-value')}")
    assert by_sub.key != by_oid.key
    assert (by_sub.subject, by_oid.subject) == ("sub:same-value", "oid:same-value")


def test_authenticator_unknown_kid_with_healthy_issuer_unauthenticated(issuer: Issuer) -> None:
    forged = jwt.encode({"sub": "x"}, rsa.generate_private_key(public_exponent=65537,
                        key_size=2048), algorithm="RS256", headers={"kid": "other"})
    with pytest.raises(Unauthenticated):
        issuer.authenticator().authenticate(f"Bearer {forged}")


def _ec_jwk(curve: ec.EllipticCurve, **extra: str) -> dict[str, Any]:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(
        ec.generate_private_key(curve).public_key()))
    return {**public, "kid": KID, "use": "sig", **extra}


@pytest.mark.parametrize(("published", "alg", "signer"), [
    # An EC key published under the kid; the token claims RSA.
    (lambda: _ec_jwk(ec.SECP256R1()), "RS256", lambda: rsa.generate_private_key(65537, 2048)),
    (lambda: _ec_jwk(ec.SECP256R1()), "PS256", lambda: rsa.generate_private_key(65537, 2048)),
    # An EC key on another curve than the algorithm's.
    (lambda: _ec_jwk(ec.SECP384R1()), "ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    # The JWK names its own algorithm; the token another of the same family.
    (lambda: _ec_jwk(ec.SECP256R1(), alg="ES256"), "ES384",
     lambda: ec.generate_private_key(ec.SECP384R1())),
], ids=["ec_key_rs256", "ec_key_ps256", "p384_key_es256", "jwk_alg_es256_token_es384"])
def test_authenticator_algorithm_not_fitting_key_unauthenticated(
    published: Any, alg: str, signer: Any, issuer: Issuer, caplog: pytest.LogCaptureFixture,
) -> None:
    jwk = published()
    issuer.jwks = lambda: (200, json.dumps({"keys": [jwk]}).encode())
    now = int(time.time())
    token = jwt.encode({"iss": issuer.url, "aud": "api://app", "sub": "u", "iat": now,
                        "exp": now + 600}, signer(), algorithm=alg, headers={"kid": KID})

    with pytest.raises(Unauthenticated):
        issuer.authenticator().authenticate(f"Bearer {token}")
    assert not [r for r in caplog.records if r.exc_info]


def test_authenticator_unknown_kid_flood_issuer_down_one_fetch_per_interval(
    issuer: Issuer,
) -> None:
    clock = [1000.0]
    authenticator = CallerAuthenticator(issuer.url, ("api://app",), timeout_seconds=2,
                                        clock=lambda: clock[0])
    assert authenticator.authenticate(f"Bearer {issuer.token()}").subject == "sub:user"
    issuer.jwks = lambda: (500, b"{}")
    forged = jwt.encode({"sub": "x"}, rsa.generate_private_key(65537, 2048), algorithm="RS256",
                        headers={"kid": "forged"})
    clock[0] += CallerAuthenticator.REFRESH_INTERVAL_SECONDS
    before = len(issuer.requests)
    for _ in range(30):
        with pytest.raises((Unauthenticated, UpstreamUnavailable)):
            authenticator.authenticate(f"Bearer {forged}")
        clock[0] += 0.01
    assert len(issuer.requests) - before == 1
    # Tokens with the known key keep working from the key set still held.
    assert authenticator.authenticate(f"Bearer {issuer.token()}").subject == "sub:user"
