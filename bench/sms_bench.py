"""SendSms to 1,000 recipients, warm, against the same ACS calls made directly.

Direct: the ten 100-recipient send calls on the service's own ACS pipeline, with no caller
check, validation or idempotency record. Also: ACS calls per request, and a replay's cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import uuid
from functools import partial
from typing import Any

import SendSms
from bench.stack import local_stack, median_of_rounds, timed
from shared.services import get_services
from shared.sms_acs import MAX_PER_CALL, Outgoing, SmsClient, SmsContent
from shared.sms_records import rfc1123
from tests.support import EmulatorClient, http_request

logger = logging.getLogger(__name__)

RECIPIENTS = [f"+1425555{i:04d}" for i in range(1000)]
MESSAGE = "Your order has shipped."


def _send(token: str, key: str) -> None:
    body = {"to": RECIPIENTS, "message": MESSAGE}
    response = SendSms.main(http_request("POST", "sms", body=body, token=token,
                                         headers={"Idempotency-Key": key}))
    if response.status_code != 202:
        raise RuntimeError(f"SendSms answered {response.status_code}")


def run(rounds: int, per_round: int) -> dict[str, Any]:
    with local_stack() as settings:
        emulator = EmulatorClient(settings)
        token = emulator.mint("bench-backend", roles=["Sms.Send"])
        _send(token, "warm-up")
        services = get_services()
        client = SmsClient(services.acs)
        content = SmsContent(sender=settings["SMS_FROM"], message=MESSAGE, tag=None,
                             enable_delivery_report=False)

        def direct() -> None:
            first_sent = rfc1123(dt.datetime.now(dt.UTC))
            for start in range(0, len(RECIPIENTS), MAX_PER_CALL):
                client.send(content, [
                    Outgoing(to=n, request_id=str(uuid.uuid4()), first_sent=first_sent,
                             attempt=0)
                    for n in RECIPIENTS[start:start + MAX_PER_CALL]
                ])

        direct()
        before = emulator.counters()["sms.send"]
        _send(token, "counted")
        calls = emulator.counters()["sms.send"] - before
        before = emulator.counters()["sms.send"]
        replay_s = timed(lambda: _send(token, "counted"))
        replay_calls = emulator.counters()["sms.send"] - before

        service_rounds: list[list[float]] = []
        direct_rounds: list[list[float]] = []
        for _ in range(rounds):
            emulator.reset()  # keep the emulator's outbox and repeat cache small
            service_round, direct_round = [], []
            for _ in range(per_round):  # interleaved, so both see the same machine load
                service_round.append(timed(partial(_send, token, uuid.uuid4().hex)))
                direct_round.append(timed(direct))
            service_rounds.append(service_round)
            direct_rounds.append(direct_round)

    service_ms = median_of_rounds(service_rounds) * 1000
    direct_ms = median_of_rounds(direct_rounds) * 1000
    return {
        "acs_calls": calls,
        "replay_acs_calls": replay_calls,
        "service_median_ms": service_ms,
        "direct_median_ms": direct_ms,
        "service_over_direct": service_ms / direct_ms,
        "replay_ms": replay_s * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = run(args.rounds, args.per_round)
    print("SendSms, 1,000 recipients, warm (medians of rounds)")
    print(f"  ACS calls per request {result['acs_calls']:6d}  (target 10)")
    print(f"  service               {result['service_median_ms']:8.1f} ms")
    print(f"  direct ACS calls      {result['direct_median_ms']:8.1f} ms  "
          "(the same 10 calls, same pipeline)")
    print(f"  service / direct      {result['service_over_direct']:8.2f}x")
    print(f"  replay of a done key  {result['replay_ms']:8.1f} ms, "
          f"{result['replay_acs_calls']} ACS calls")


if __name__ == "__main__":
    main()
