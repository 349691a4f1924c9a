"""Facts about Alma shared by every layer (the client and the sandbox alike); imports nothing."""

API_PATH = "/almaws/v1"
"""The path every Alma REST API lives under, on every regional gateway."""
