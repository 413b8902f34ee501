"""The edge service: Flagship's HTTP endpoints under `/functions/v1`."""
