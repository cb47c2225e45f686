"""LLM providers and global LLM settings."""
