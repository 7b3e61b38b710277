"""Environment definitions as code: the common subset of the Compose file format, parsed and validated."""
