"""The CLI's command groups, one module a group, named for it.

May import typer, rich, stripetopup.core (TopUpService and the rooms' types), stripetopup.errors
and the flat CLI modules (context, options, output, tables, listen, workers, demo).
"""
