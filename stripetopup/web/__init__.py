"""The web door: a FastAPI app over one TopUpService. Translates HTTP to core calls and
domain errors to one JSON error shape; nothing else lives here.

May import core, config, errors and results; never cli.
"""
