"""The Model Context Protocol server and its per-area contexts."""
