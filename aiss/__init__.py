"""AISS: a self-hosted knowledge (RAG) and terminal backend."""
