"""The service core: every function handler is a thin wrapper around these packages.

    edge/      HTTP and queue edges: request parsing, strict JSON, problem+json, dead letters
    auth/      who is calling: the caller model and Bearer JWT validation against the issuer
    identity/  callers' ACS identities: the map, tokens, the lifecycle, the identity-events queue
    sms/       sending SMS: requests, the service, the ACS send call, idempotency records, the queue
    clients/   Azure plumbing: the ACS pipeline, Table clients, transport, credential, telemetry
    config/    settings read once and validated, and the refusal of key-shaped values
    errors.py  the typed errors every layer raises; services.py builds one of each per process
"""
