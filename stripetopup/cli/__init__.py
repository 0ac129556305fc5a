"""The CLI door: Typer commands that parse arguments, call TopUpService and print.

Command modules import only typer at module level; rich, the core, the SDK and the web
stack are imported inside the commands that need them, so ``--help`` stays fast.
May import everything below it; nothing imports the CLI.
"""
