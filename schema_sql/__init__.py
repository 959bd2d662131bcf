"""The migrations, numbered plain SQL files applied in order by crux/store/migrate.py.

This folder stays at the top of the repository and installs as the package `crux.schema_sql`
(pyproject.toml), so an installed Crux finds its migrations wherever it runs."""
