"""The HTTP side: FastAPI app, routers, auth."""
