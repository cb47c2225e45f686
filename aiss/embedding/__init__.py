"""Embeddings: models, backends, the micro-batching service and its API."""
