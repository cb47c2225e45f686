"""Authentication: password hashing, JWTs, API keys, SSH keys, rate limits."""
