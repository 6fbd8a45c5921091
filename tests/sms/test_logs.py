"""What SMS handling logs: no phone number or message text above DEBUG, no token at all."""

from __future__ import annotations

import logging

import pytest

from emulator.client import EmulatorClient
from shared.errors import UpstreamUnavailable
from tests.functions import function_raises
from tests.sms.conftest import DeliverCall, SendCall

MESSAGE = "Secret code 918273 for Ada"
RECIPIENTS = ["+1 425 555 0177", "+442071838750", "+1425555017"]
DIGITS = ["4255550177", "2071838750", "425555017"]


def _texts(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    texts = []
    for record in caplog.records:
        if record.levelno >= level:
            text = record.getMessage()
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
            texts.append(text)
    return texts


def test_sms_logs_no_number_or_message_above_debug_no_token(
    send: SendCall, deliver: DeliverCall, emulator: EmulatorClient, sender_token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"to": RECIPIENTS, "message": MESSAGE, "tag": "otp"}
    assert send(body, key="log-1").status_code == 207
    assert send(body, key="log-1").status_code == 207
    assert send({**body, "message": MESSAGE + "!"}, key="log-1").status_code == 422
    assert send({"to": [*RECIPIENTS, "+1425CALL"], "message": MESSAGE}).status_code == 400
    deliver({"to": RECIPIENTS, "message": MESSAGE, "colour": "red"})
    emulator.fault("sms.send", 429, count=1, retryAfter=60)
    with function_raises(UpstreamUnavailable):
        deliver({"to": RECIPIENTS, "message": MESSAGE}, id="throttled")

    above_debug = _texts(caplog, logging.INFO)
    assert above_debug, "expected the service to log its requests"
    for text in above_debug:
        assert MESSAGE not in text and "918273" not in text
        assert not any(digits in text.replace(" ", "") for digits in DIGITS), text
    assert not any(sender_token in text for text in _texts(caplog, logging.DEBUG))
    assert not any(sender_token[-20:] in text for text in _texts(caplog, logging.DEBUG))
