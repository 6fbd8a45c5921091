"""Conformance tests for the offline ACS emulator."""
