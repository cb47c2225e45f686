"""Child processes for blocking, GIL-holding work (models, the vector engine)."""
