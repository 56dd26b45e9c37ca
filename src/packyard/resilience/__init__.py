"""How the core survives its dependencies failing: retryable errors for database and disk faults, a guarded Redis."""
