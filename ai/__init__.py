"""AI services shared by the edge and the worker: the provider layer over the official
`openai` library (or the local embedded default), offline embeddings, chunking, and the
output guard. Imports only the runtime core (flagship.config/database/logs)."""
