"""HTTP helpers shared by the adapters: one serve() for stored bytes."""
