"""The quickstart the run command prints once everything answers: real URLs, copy-paste ready."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

# Where the example web client (examples/web) is served locally; the functions allow it.
EXAMPLE_WEB_PORT = 8080
EXAMPLE_WEB_ORIGINS = (
    f"http://localhost:{EXAMPLE_WEB_PORT}", f"http://127.0.0.1:{EXAMPLE_WEB_PORT}"
)


def host_section() -> dict[str, object]:
    """local.settings.json's `Host` section: CORS for the example web client.

    Credentials stay off: the web client sends its token in the Authorization header, so
    it needs no cookies, and allowing credentials would widen what another origin can do.
    """
    return {"CORS": ",".join(EXAMPLE_WEB_ORIGINS), "CORSCredentials": False}


def app_settings(emulator: Mapping[str, str], azurite: Mapping[str, str]) -> dict[str, str]:
    """The function app's settings for a local run against the emulator and Azurite.

    Only what the app needs: the emulator's HMAC connection string stays out, because the
    service refuses to start with any setting that carries an ACS access key.
    """
    storage = azurite["AZURITE_CONNECTION_STRING"]
    return {
        "FUNCTIONS_WORKER_RUNTIME": "python",
        "AzureWebJobsStorage": storage,
        "IDENTITY_TABLE_ENDPOINT": storage,
        "ACS_ENDPOINT": emulator["ACS_ENDPOINT"],
        "AUTH_ISSUER": emulator["AUTH_ISSUER"],
        "AUTH_AUDIENCE": emulator["AUTH_AUDIENCE"],
        "SMS_FROM": emulator["SMS_FROM"],
        "IDENTITY_ENDPOINT": emulator["IDENTITY_ENDPOINT"],
        "IDENTITY_HEADER": emulator["IDENTITY_HEADER"],
        "REQUESTS_CA_BUNDLE": emulator["REQUESTS_CA_BUNDLE"],
        "TOKEN_SCOPES": "chat,voip",
        "TOKEN_EXPIRES_MINUTES": "60",
        "SMS_SEND_ROLE": "Sms.Send",
        "IDENTITY_ADMIN_ROLE": "Identity.Admin",
    }


def render(settings: Mapping[str, str], settings_file: Path, runner: str) -> str:
    """The quickstart text for the settings written to `settings_file`."""
    ca = shlex.quote(settings["REQUESTS_CA_BUNDLE"])
    issuer = settings["AUTH_ISSUER"].rstrip("/")
    admin = settings["EMULATOR_ADMIN"].rstrip("/")
    url = settings["FUNCTIONS_URL"].rstrip("/")
    file = shlex.quote(str(settings_file))
    # The project's own interpreter, by absolute path: a machine may have no `python` on PATH.
    python = shlex.quote(sys.executable)
    mint = (
        f"curl -s --cacert {ca} -X POST {issuer}/token -H 'Content-Type: application/json' "
        f"-d '{{body}}' | {python} -c 'import json,sys; "
        "print(json.load(sys.stdin)[\"access_token\"])'"
    )
    enqueue = (
        f"{python} -c \"import base64, json; "
        "from azure.storage.queue import QueueClient; "
        f"s = json.load(open({str(settings_file)!r})); "
        "q = QueueClient.from_connection_string(s['AZURITE_CONNECTION_STRING'], 'sms-outbox'); "
        "q.send_message(base64.b64encode(json.dumps({'to': '+14255550123', "
        "'message': 'Hello from the queue'}).encode()).decode())\""
    )
    return f"""
The service is running ({runner}) at {url}
Every setting is in {file} (emulator, Azurite, FUNCTIONS_URL, FUNCTIONS_KEY).
These functions are anonymous (they check a Bearer token). A function with authLevel
function or admin also needs the header x-functions-key: <FUNCTIONS_KEY from that file>
(the local host checks it; Core Tools does not check keys locally).

1. Mint an app-user token from the emulator's OIDC issuer:
   TOKEN=$({mint.replace("{body}", '{"sub": "alice"}')})

2. Map the user to an ACS identity, then get an ACS user access token (same identity):
   curl -s -X POST {url}/api/identities -H "Authorization: Bearer $TOKEN"
   curl -s -X POST {url}/api/token -H "Authorization: Bearer $TOKEN" \\
        -H 'Content-Type: application/json' -d '{{"scopes": ["chat", "voip"]}}'

   Sign out everywhere (old tokens refused), see the identity as the user and as an admin
   (Identity.Admin role, by user key), then delete it ("delete my account"; offboarding
   systems may queue {{"action": "delete", "userKey": "sub:alice"}} on identity-events):
   curl -s -X POST {url}/api/identities/me/revoke -H "Authorization: Bearer $TOKEN"
   curl -s {url}/api/identities/me -H "Authorization: Bearer $TOKEN"
   ADMIN=$({mint.replace("{body}", '{"sub": "ops", "roles": ["Identity.Admin"]}')})
   curl -s {url}/api/users/sub%3Aalice/identity -H "Authorization: Bearer $ADMIN"
   curl -s -X DELETE {url}/api/identities/me -H "Authorization: Bearer $TOKEN"

3. Send an SMS as a backend (its token carries the Sms.Send role):
   SENDER=$({mint.replace("{body}", '{"sub": "backend", "roles": ["Sms.Send"]}')})
   curl -s -X POST {url}/api/sms -H "Authorization: Bearer $SENDER" \\
        -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-1' \\
        -d '{{"to": "+14255550123", "message": "Hello from the service"}}'

4. Drop a message on the sms-outbox queue (base64, as the Functions host expects):
   {enqueue}

5. See what the emulator sent:
   curl -s --cacert {ca} {admin}/sms

Press Ctrl-C to stop everything.
"""
