"""The embedded sample production: a generated database, its configuration and a small service."""
