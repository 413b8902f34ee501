"""Generated references of the `api` surface for client developers (types, collections)."""
