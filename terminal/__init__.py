"""Terminals: PTY and SSH processes, scrollback, recording, and the WebSocket bridge."""
