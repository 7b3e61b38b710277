"""PostgreSQL as a data engine: databases on a real server, copied, cloned, masked, checked and subset."""

from stagetui.data.postgres.connection import mask_dsn
from stagetui.data.postgres.engine import PostgresEngine

__all__ = ["PostgresEngine", "mask_dsn"]
