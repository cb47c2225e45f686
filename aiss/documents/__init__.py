"""Documents: upload, type sniffing, extraction, chunking, the ingestion pipeline, search."""
