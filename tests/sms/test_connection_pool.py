"""The shared connection pool covers SMS fan-out: every worker thread sending SMS at once, each
with SMS_SEND_CONCURRENCY calls in flight, finds a pooled connection for each call to keep, so
none is thrown away (and its TLS handshake paid again) when the burst ends."""

from __future__ import annotations

import logging
import threading

import azure.functions as func
import pytest

from devhost.direct import json_body
from emulator.client import EmulatorClient
from shared.services import use_services
from tests.sms.conftest import SendCall
from tests.sms.support import numbers

WORKER_THREADS = 4
PAGES = 5  # 500 recipients: five ACS calls, all in flight at once at the default concurrency


def test_concurrent_sms_requests_discard_no_connection(
    send: SendCall, emulator: EmulatorClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("PYTHON_THREADPOOL_THREAD_COUNT", str(WORKER_THREADS))
    monkeypatch.setenv("SMS_SEND_CONCURRENCY", str(PAGES))
    use_services(None)
    # Slow ACS down, so the 4 x 5 calls overlap instead of finishing one by one.
    emulator.fault("sms.send", 200, count=WORKER_THREADS * PAGES, latencyMs=300)
    barrier = threading.Barrier(WORKER_THREADS)
    answers: list[func.HttpResponse] = []

    def one_request(index: int) -> None:
        barrier.wait()
        answers.append(send({"to": numbers(100 * PAGES, start=1000 * index),
                             "message": "burst"}, key=f"burst-{index}"))

    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        workers = [threading.Thread(target=one_request, args=(i,))
                   for i in range(WORKER_THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert [a.status_code for a in answers] == [202] * WORKER_THREADS, \
        [json_body(a) for a in answers]
    assert emulator.counters()["sms.send"] == WORKER_THREADS * PAGES
    discarded = [r for r in caplog.records if "discarding connection" in r.getMessage()]
    assert discarded == []
