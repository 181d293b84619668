"""``python -m vegan`` runs the command line."""

import sys

from vegan.cli import main

sys.exit(main())
