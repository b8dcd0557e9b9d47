"""Command modules of the ``immunocycle`` command line (the top layer, beside ``cli.py``).

Each module declares its Typer options with light imports only (typer, rich, the standard library)
and imports the packages it drives inside the command, so ``immunocycle --help`` answers at once.
"""
