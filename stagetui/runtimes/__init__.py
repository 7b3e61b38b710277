"""Runtimes: where an environment runs (local processes; docker and aws come later)."""
