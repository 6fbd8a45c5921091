"""Who is calling: the caller model, and Bearer JWTs checked against the OIDC issuer."""
