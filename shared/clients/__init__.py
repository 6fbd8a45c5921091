"""Azure plumbing: the ACS pipeline, Table Storage, transport, credential and telemetry."""
