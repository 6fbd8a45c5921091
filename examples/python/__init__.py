"""The Python chat client example (azure-communication-chat with tokens from /api/token)."""
