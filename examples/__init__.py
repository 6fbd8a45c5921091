"""Example client code that uses this service's tokens; the end-to-end tests run it."""
