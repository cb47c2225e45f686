"""Stores: MongoDB (beanie), the object store, the vector store, and the job queue."""
