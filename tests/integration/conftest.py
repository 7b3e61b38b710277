"""Fixtures shared by the integration tests.

The moto server and PostgreSQL fixtures are registered here rather than imported into each test module:
pytest makes one fixture definition per module that imports a fixture, so a session-scoped server imported
by two modules would be started twice.
"""

from tests.integration.docker_engine import docker_client, sample_images
from tests.integration.moto_server import aws_endpoint, moto_server
from tests.integration.postgres_server import pg_production, postgres_server, sample_sqlite
from tests.integration.swarm_cluster import swarm_cluster

__all__ = [
    "aws_endpoint",
    "docker_client",
    "moto_server",
    "pg_production",
    "postgres_server",
    "sample_images",
    "sample_sqlite",
    "swarm_cluster",
]
