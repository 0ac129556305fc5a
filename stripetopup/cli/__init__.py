"""The CLI door: Typer commands that parse arguments, call TopUpService and print.

Command modules import only typer at module level; rich, the core, the SDK and the web
stack are imported inside the commands that need them, so ``--help`` stays fast. ``main``
imports only the module of the command it runs, and ``balance`` and ``ledger ACCOUNT`` read
through the ledger room's core-SQL reads on a bare context (``context.reads``), without the
service or the ORM.
May import everything below it; nothing imports the CLI.
"""
