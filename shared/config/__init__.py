"""Configuration: settings read once from the environment, and key-shaped values refused."""
