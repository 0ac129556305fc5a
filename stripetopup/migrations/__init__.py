"""Alembic migrations for the stripetopup schema (run by ``stripetopup db upgrade``)."""
