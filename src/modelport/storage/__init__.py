"""Relational storage: engine, tables, migrations. SQLite embedded, PostgreSQL scaled out."""
