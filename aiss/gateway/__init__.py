"""The SSH gateway: terminal sessions over `ssh`."""
