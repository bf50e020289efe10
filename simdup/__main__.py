"""``python -m simdup``: the ``simdup`` command (:mod:`simdup.cli`)."""

import sys

from .cli import main

sys.exit(main())
