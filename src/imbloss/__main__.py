"""``python -m imbloss``: the same command line as ``imbloss``."""

from imbloss.cli import main

raise SystemExit(main())
