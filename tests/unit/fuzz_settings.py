"""Shared hypothesis settings for the fuzz tests: deterministic (CI reruns the same examples) and quick."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz(max_examples: int) -> settings:
    """Derandomized, no deadline (CI machines are noisy), fixture-per-test allowed (files are rewritten)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
