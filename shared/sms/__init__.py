"""Sending SMS: validated requests, the send service, ACS calls and idempotency records."""
