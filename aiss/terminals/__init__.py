"""Terminal sessions: the manager, its supervision subtree and its records."""
