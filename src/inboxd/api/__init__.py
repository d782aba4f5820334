"""The HTTP API: FastAPI routers per resource, one auth dependency, one error mapper."""
