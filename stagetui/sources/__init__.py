"""Config sources: read configuration trees into nested maps for rendering and drift."""
