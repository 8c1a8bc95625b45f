"""Alembic environment: the app's metadata, and the owner's connection (Flask-Migrate).

Migrations connect with MIGRATION_DATABASE_URL (the role that owns the tables) when it is set, else with the
app's own engine. After an upgrade or downgrade, when DATABASE_APP_ROLE is set, the owner grants that role what
the app needs in the same transaction (puskesos/database_roles.py): a failed grant leaves nothing half done.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from puskesos.database_roles import grant_app_role

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
owner_url = current_app.config.get("MIGRATION_DATABASE_URL")
app_role = current_app.config.get("DATABASE_APP_ROLE")
url = owner_url or db.engine.url.render_as_string(hide_password=False)
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))


def process_revision_directives(_context, _revision, directives):
    """`flask db migrate` with no model change writes no empty revision."""
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=db.metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    engine = create_engine(owner_url, poolclass=NullPool) if owner_url else db.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            # upgrade, downgrade and stamp have a destination; autogenerate and `current` do not, and grant nothing
            if app_role and context.get_context().opts.get("destination_rev") is not None:
                grant_app_role(connection, app_role)
    if owner_url:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
