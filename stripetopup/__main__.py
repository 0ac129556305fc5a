"""``python -m stripetopup``: the same CLI as the ``stripetopup`` console script."""

from stripetopup.cli.main import main

main()
