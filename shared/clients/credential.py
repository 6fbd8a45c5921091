"""The service's one outbound credential: managed identity in Azure, developer sign-in locally.

Never a key or a client secret: EnvironmentCredential (client secrets, certificates) is
deliberately not part of the chain, which is why DefaultAzureCredential is not used.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from azure.core.credentials import TokenCredential
from azure.identity import (
    AzureCliCredential,
    AzureDeveloperCliCredential,
    ChainedTokenCredential,
    ManagedIdentityCredential,
)

logger = logging.getLogger(__name__)

# Set by App Service / Azure Functions (and by the local emulator) when a managed identity
# is attached; without them a managed identity could only be reached through IMDS probing.
_MANAGED_IDENTITY_MARKERS = ("IDENTITY_ENDPOINT", "MSI_ENDPOINT")


def build_credential(
    client_id: str | None, environ: Mapping[str, str] | None = None
) -> TokenCredential:
    """Managed identity where the platform provides one; else the developer's `az login`."""
    env = os.environ if environ is None else environ
    if any(env.get(name) for name in _MANAGED_IDENTITY_MARKERS):
        kind = "user-assigned" if client_id else "system-assigned"
        logger.info("Authenticating to Azure with the %s managed identity", kind)
        return ManagedIdentityCredential(client_id=client_id)
    logger.info("No managed identity endpoint: using developer sign-in (az login / azd auth login)")
    return ChainedTokenCredential(AzureCliCredential(), AzureDeveloperCliCredential())
