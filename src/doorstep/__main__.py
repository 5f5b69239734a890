"""``python -m doorstep`` runs the command line."""

from doorstep.cli import main

main()
