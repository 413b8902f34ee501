"""Reference generators: the API catalogue turned into documents and clients."""
