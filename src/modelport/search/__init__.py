"""Semantic search: collections of documents embedded by a registered model.

Vectors live in the database: a blob searched exactly with numpy on SQLite (and on a
PostgreSQL without pgvector), a pgvector ``vector`` column with an HNSW index on PostgreSQL.
"""
