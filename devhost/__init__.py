"""Local stand-in for the Azure Functions host, and the one-command local stack."""
