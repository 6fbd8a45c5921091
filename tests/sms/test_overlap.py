"""Numbers are parsed while ACS works: each page's call is on the wire, its body whole, before
the next page's numbers are parsed, and they are parsed before that call's answer is taken.
Prepared first, the next page would hold the interpreter lock while the call waited to be sent
(and, with the head and body written apart, while ACS waited for the body); prepared after the
answer, nothing would overlap either.

ACS answers a send call after tens to hundreds of milliseconds; the emulator, on loopback, in
about one. Given that, whether the main thread or the answer comes first after a write is up to
the machine's scheduler (a CI run once saw the answer first). The emulator is therefore slowed to
a realistic 250 ms per send call, so the third step of the order follows from the code: the next
page is parsed while the call is in flight, as it would be against ACS."""

from __future__ import annotations

import http.client
import json
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.sms import service
from shared.sms.client import Outgoing, SmsClient, SmsContent
from shared.sms.records import RecipientResult
from shared.sms.request import RecipientResolver
from tests.sms.conftest import SendCall
from tests.sms.support import numbers

PAGES = 6
ACS_ANSWER_MS = 250  # a send call's time in ACS, well within what real calls take
_BODY = re.compile(rb"\r\n\r\n(\{.*\})\Z", re.DOTALL)


@pytest.fixture
def steady_lock() -> Iterator[None]:
    """The interpreter lock changes hands only when its holder waits (a write, a read, a
    lock), never forced from a busy thread: the order below then follows from the code, not
    from how busy the machine is."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    yield
    sys.setswitchinterval(interval)


def test_each_call_is_sent_whole_before_the_next_page_is_parsed(
    send: SendCall, one_call_at_a_time: None, steady_lock: None, emulator: EmulatorClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "_SENT_WAIT_SECONDS", 30.0)
    emulator.fault("sms.send", 202, count=PAGES, latencyMs=ACS_ANSWER_MS, afterHandling=True)
    events: list[tuple[str, int]] = []
    recipients = numbers(100 * PAGES)
    page_of = {number: index // 100 for index, number in enumerate(recipients)}

    write = http.client.HTTPConnection.send

    def recording_write(self: http.client.HTTPConnection, data: Any) -> None:
        # A write that completes a send call's body: the call is whole on the wire.
        body = _BODY.search(bytes(data)) if isinstance(data, bytes | bytearray) else None
        if body is not None and b'"smsRecipients"' in body.group(1):
            first = json.loads(body.group(1))["smsRecipients"][0]["to"]
            events.append(("sent", page_of[first]))
        elif isinstance(data, bytes | bytearray) and data.startswith(b'{"from"'):
            first = json.loads(bytes(data))["smsRecipients"][0]["to"]
            events.append(("sent", page_of[first]))
        write(self, data)

    resolve = RecipientResolver._resolve_next

    def recording_resolve(self: RecipientResolver) -> None:
        if self._next % 100 == 0:
            events.append(("parse", self._next // 100))
        resolve(self)

    sms_send = SmsClient.send

    def recording_send(self: SmsClient, content: SmsContent,
                       batch: Sequence[Outgoing]) -> list[RecipientResult]:
        results = sms_send(self, content, batch)
        events.append(("answered", page_of[batch[0].to]))
        return results

    monkeypatch.setattr(http.client.HTTPConnection, "send", recording_write)
    monkeypatch.setattr(RecipientResolver, "_resolve_next", recording_resolve)
    monkeypatch.setattr(SmsClient, "send", recording_send)

    answer = send({"to": recipients, "message": "overlap"}, key="overlap")

    assert answer.status_code == 202, json_body(answer)
    sent = [page for kind, page in events if kind == "sent"]
    assert sent == list(range(PAGES))
    # Page 0 is parsed before anything is sent; page p + 1 once page p is on the wire, and
    # before its answer is taken (the first call connects and fetches its managed identity
    # token first: parsing waits for the write all the same).
    for page in range(1, PAGES):
        assert events.index(("sent", page - 1)) < events.index(("parse", page)) \
            < events.index(("answered", page - 1)), events
