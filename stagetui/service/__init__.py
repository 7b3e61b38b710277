"""The service API both faces (CLI and TUI) use: orchestrator, events, queries."""
