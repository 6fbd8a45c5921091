"""Browser end to end: the example web client (examples/web, bundled by esbuild) in headless
Chromium, driven by selenium through Debian's chromedriver.

The page is served from its own loopback origin, so its calls to the emulator's issuer (the
development sign-in), to the functions (`/api/token`) and to the emulator's Chat API are all
cross-origin and pass only if each answers CORS. Chromium
trusts the emulator's certificate by its public key only
(`--ignore-certificate-errors-spki-list`), not by ignoring certificate errors altogether.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from emulator.client import EmulatorClient
from tests.e2e.conftest import Functions, WebRoot

INSTALL_HINT = (
    "the browser test needs Debian's chromium and chromedriver: run `make test` as root "
    "(it installs them), or `sudo apt-get install chromium chromium-driver`"
)


def _spki_hash(certificate: x509.Certificate) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)), the form Chromium's SPKI allow-list takes."""
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def _emulator_spki_hashes(settings: dict[str, str]) -> list[str]:
    """The emulator's server key and its local CA's: this run's throwaway keys only."""
    parts = urlsplit(settings["ACS_ENDPOINT"])
    leaf = ssl.get_server_certificate((parts.hostname or "127.0.0.1", parts.port or 443))
    ca = Path(settings["REQUESTS_CA_BUNDLE"]).read_bytes()
    return [_spki_hash(x509.load_pem_x509_certificate(leaf.encode())),
            _spki_hash(x509.load_pem_x509_certificate(ca))]


def _chromium_and_driver() -> tuple[str, str]:
    """Debian's chromium and chromedriver; a missing one fails the test (never a skip)."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail(INSTALL_HINT)
    return chromium, chromedriver


@pytest.fixture
def browser(emulator: EmulatorClient, tmp_path: Path) -> Iterator[WebDriver]:
    chromium, chromedriver = _chromium_and_driver()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # runs as root in CI containers, where the sandbox cannot start
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",  # the SPKI list needs its own profile
        "--ignore-certificate-errors-spki-list="
        + ",".join(_emulator_spki_hashes(emulator.settings)),
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        yield driver
    finally:
        driver.quit()


def _built_page(repo_root: Path, web_root: WebRoot, functions: Functions,
                emulator: EmulatorClient, origin: str | None = None) -> str:
    """Build the web client into the served folder; the page's URL on `origin` (by default the
    one it is served from), with the functions, ACS and the issuer in its query."""
    node = shutil.which("node")
    assert node, "Node.js 20+ is required (see the README's prerequisites)"
    subprocess.run([node, "examples/web/build.mjs", str(web_root.folder)], cwd=repo_root,
                   check=True, capture_output=True, timeout=120)
    query = urlencode({
        "functions": functions.url,
        "acs": emulator.settings["ACS_ENDPOINT"],
        "issuer": emulator.settings["AUTH_ISSUER"],
    })
    return f"{origin or web_root.origin}/index.html?{query}"


def _do(driver: WebDriver, button: str, expected: str) -> str:
    """Click a button and wait for the page's status line to report the outcome."""
    driver.find_element(By.ID, button).click()

    def settled(d: WebDriver) -> str | None:
        text = str(d.find_element(By.ID, "status").text)
        return text if text not in ("working", "") else None

    status = str(WebDriverWait(driver, 60).until(settled))
    assert status.startswith(expected), f"{button}: {status}"
    return status


def _type(driver: WebDriver, field: str, text: str) -> None:
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def _messages(driver: WebDriver) -> list[tuple[str, str]]:
    items = driver.find_elements(By.CSS_SELECTOR, "#messages li")
    return [(str(item.get_attribute("data-sender")), str(item.text)) for item in items]


def _sign_in(driver: WebDriver, url: str, name: str) -> str:
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "status").text == "ready")
    _type(driver, "user", name)
    _do(driver, "signin", "signed in")
    me = driver.find_element(By.ID, "me")
    # The only token source the page has is its refresher, i.e. the service's /api/token.
    assert int(str(me.get_attribute("data-refreshes"))) >= 1
    return str(me.text)


def test_chat_browser_two_users_sign_in_get_tokens_cross_origin_and_chat(
    browser: WebDriver, functions: Functions, web_root: WebRoot, emulator: EmulatorClient,
    repo_root: Path,
) -> None:
    started = time.monotonic()
    url = _built_page(repo_root, web_root, functions, emulator)
    suffix = uuid.uuid4().hex[:8]

    alices_window = browser.current_window_handle
    alice = _sign_in(browser, url, f"web-alice-{suffix}")
    browser.switch_to.new_window("window")
    bobs_window = browser.current_window_handle
    bob = _sign_in(browser, url, f"web-bob-{suffix}")

    browser.switch_to.window(alices_window)
    _type(browser, "other", bob)
    thread_id = _do(browser, "start", "thread ").removeprefix("thread ")
    _type(browser, "message", "Hello Bob, from the browser")
    _do(browser, "send", "sent")

    browser.switch_to.window(bobs_window)
    _type(browser, "thread", thread_id)
    _do(browser, "open", f"thread {thread_id}")
    _type(browser, "message", "Hi Alice")
    _do(browser, "send", "sent")
    seen_by_bob = _messages(browser)

    browser.switch_to.window(alices_window)
    _do(browser, "refresh", "refreshed")
    seen_by_alice = _messages(browser)
    elapsed = time.monotonic() - started

    conversation = [(alice, "Hello Bob, from the browser"), (bob, "Hi Alice")]
    assert seen_by_bob == conversation
    assert seen_by_alice == conversation
    assert alice != bob
    assert alice.startswith("8:acs:")
    threads = {t["id"]: t for t in emulator.http.get(
        f"{emulator.admin}/chat/threads", timeout=10).json()}
    assert set(threads[thread_id]["participants"]) == {alice, bob}
    # Both signed in at the issuer itself, cross-origin (no relay in between).
    assert emulator.counters()["oidc.mint"] == 2
    print(f"browser chat flow (build + two windows): {elapsed:.1f}s")


def _refused_with(driver: WebDriver, button: str) -> str:
    """Click a chat action that must fail; the HTTP status the page saw."""
    _do(driver, button, "error: ")
    return str(driver.find_element(By.ID, "status").get_attribute("data-code"))


def test_chat_browser_sign_out_everywhere_then_delete_old_tokens_refused_401(
    browser: WebDriver, functions: Functions, web_root: WebRoot, emulator: EmulatorClient,
    repo_root: Path,
) -> None:
    url = _built_page(repo_root, web_root, functions, emulator)
    carol = _sign_in(browser, url, f"web-carol-{uuid.uuid4().hex[:8]}")
    _type(browser, "other", carol)
    _do(browser, "start", "thread ")
    _type(browser, "message", "A note to self")
    _do(browser, "send", "sent")

    # The revoke route, called cross-origin with the sign-in token: this tab's token dies.
    _do(browser, "signout", "signed out everywhere")
    after_sign_out = _refused_with(browser, "refresh")
    _do(browser, "signin", "signed in")  # a new credential: its refresher gets a new token
    same_identity = str(browser.find_element(By.ID, "me").text)
    _do(browser, "open", "thread ")  # the thread through the new credential
    seen_again = _messages(browser)

    _do(browser, "delete", "account deleted")
    after_delete = _refused_with(browser, "refresh")  # even the token issued after sign-out
    _do(browser, "signin", "signed in")
    new_identity = str(browser.find_element(By.ID, "me").text)
    _type(browser, "other", new_identity)
    _do(browser, "start", "thread ")
    _type(browser, "message", "Back again")
    _do(browser, "send", "sent")
    seen_by_new = _messages(browser)

    assert after_sign_out == "401"
    assert same_identity == carol
    assert seen_again == [(carol, "A note to self")]
    assert after_delete == "401"
    assert new_identity.startswith("8:acs:") and new_identity != carol
    assert seen_by_new == [(new_identity, "Back again")]
    counters = emulator.counters()
    assert counters["identity.revokeTokens"] == 1
    assert counters["identity.delete"] == 1
    states = {i["id"]: i["state"] for i in emulator.identities()}
    assert states[carol] == "deleted"
    assert states[new_identity] == "active"


def test_chat_browser_origin_not_allowed_token_call_blocked_by_cors(
    browser: WebDriver, functions: Functions, web_root: WebRoot, emulator: EmulatorClient,
    repo_root: Path,
) -> None:
    # Same server, but `localhost` is another origin than the allowed `127.0.0.1` one.
    other_origin = web_root.origin.replace("127.0.0.1", "localhost")
    browser.get(_built_page(repo_root, web_root, functions, emulator, other_origin))
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "status").text == "ready")
    _type(browser, "user", f"web-mallory-{uuid.uuid4().hex[:8]}")

    with pytest.raises(AssertionError, match="signin: error: Failed to fetch"):
        _do(browser, "signin", "signed in")

    # The sign-in itself worked (the issuer answers CORS to any loopback page); only the
    # token call to the functions, which do not allow this origin, was refused.
    assert browser.find_element(By.ID, "me").text == ""
    counters = emulator.counters()
    assert counters["oidc.mint"] == 1
    assert counters.get("identity.create", 0) == 0
    assert counters.get("identity.issueToken", 0) == 0


def test_chat_browser_missing_chromium_fails_with_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without chromium or chromedriver

    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium chromium-driver"):
        _chromium_and_driver()
