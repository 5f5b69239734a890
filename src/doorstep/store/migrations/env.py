"""Alembic environment: migrations run on the URL from the configuration."""

from __future__ import annotations

from alembic import context

from doorstep.store.database import make_engine
from doorstep.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Run the migrations online, in one transaction."""
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
