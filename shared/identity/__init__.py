"""Callers' ACS identities: the identity map, user access tokens and the lifecycle."""
