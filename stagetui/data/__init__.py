"""Data engines: copy, mask, verify and subset databases."""
