"""``python -m surveys`` runs the ``hamkor`` command line."""

from surveys.cli import main

main()
