"""The web app's routes, one module a group: billing (checkout, webhook,
balance), spend (the host application's spend API), demo pages, the metrics scrape.

May import fastapi, pydantic, stripetopup.core, stripetopup.errors and the flat web modules
(errors, body, ratelimit, deps, schemas).
"""
