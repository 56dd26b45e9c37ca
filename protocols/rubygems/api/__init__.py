"""The gem API under the source root: push, yank, owners, JSON reads, and their plain-text answers."""
