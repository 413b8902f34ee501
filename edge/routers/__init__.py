"""One module per group of endpoints; each exposes `router`, mounted under `/functions/v1`."""
