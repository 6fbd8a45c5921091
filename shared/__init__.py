"""The service core: every function handler is a thin wrapper around these modules."""
