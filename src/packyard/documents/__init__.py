"""The read-side toolkit: documents rendered at write time, stored, written through, served from a memo."""
