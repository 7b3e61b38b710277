"""Fixtures shared by the integration tests.

The moto server fixtures are registered here rather than imported into each test module: pytest makes one
fixture definition per module that imports a fixture, so a session-scoped server imported by two modules
would be started twice.
"""

from tests.integration.moto_server import aws_endpoint, moto_server

__all__ = ["aws_endpoint", "moto_server"]
