"""Exit codes CI systems can gate on. Documented in the README and in `stagetui --help`."""

OK = 0
FAILED = 1
"""The work was attempted and failed (provisioning rolled back, teardown incomplete, gc errors)."""
BAD_INPUT = 2
"""Bad arguments, bad config or bad branch name; nothing was created."""
NOT_FOUND = 3
"""No environment matches the reference."""
CONFLICT = 4
"""The environment exists already, or a reference matches several."""
STATE_ERROR = 5
"""The store is locked, corrupted, from a newer stagetui, or cannot be written (disk full)."""
BUDGET_EXCEEDED = 6
"""`stagetui budget`: a daily or monthly budget is exceeded."""
TARGET_MISSED = 7
"""`stagetui bench --fail-on-miss`: a benchmark misses its target."""
INTERRUPTED = 130
"""Ctrl-C: in-flight provisioning was rolled back."""

DESCRIPTION = """exit codes:
  0    success
  1    the operation failed (provisioning rolled back, teardown or gc incomplete)
  2    bad input: arguments, config file or branch name (nothing was created)
  3    no environment matches the reference
  4    conflict: the environment exists already, or the reference is ambiguous
  5    state error: the store is locked, corrupted, newer, or cannot be written (disk full)
  6    a budget is exceeded (stagetui budget)
  7    a benchmark misses its target (stagetui bench --fail-on-miss)
  130  interrupted (Ctrl-C); in-flight provisioning was rolled back"""
