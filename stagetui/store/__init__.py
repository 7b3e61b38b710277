"""The local store: TinyDB files under the state directory, written atomically under a lock."""
