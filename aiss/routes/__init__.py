"""One module per resource; each exposes `routes()`."""
