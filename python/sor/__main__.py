"""``python -m sor``: the ``sor`` command (see :mod:`sor.cli`)."""

from sor.cli import main

main()
