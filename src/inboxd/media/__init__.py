"""Files: the local file store, URL ingest (streaming, limits, SSRF guard), type sniffing."""
