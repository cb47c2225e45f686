"""The users concern: accounts, logins, tokens, API keys, SSH keys."""
