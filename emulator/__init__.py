"""Offline stand-in for Azure Communication Services, the App Service managed identity
endpoint and an OIDC issuer, for local runs and tests. Start it with `python -m emulator`."""
