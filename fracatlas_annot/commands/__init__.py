"""One module per CLI command (or command family); each exposes ``commands``: a list of click commands."""
