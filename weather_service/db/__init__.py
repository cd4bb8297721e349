"""Storage: table definitions, engine construction and transactions."""
