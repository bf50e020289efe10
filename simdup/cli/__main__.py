"""``python -m simdup.cli``: the ``simdup`` command."""

import sys

from . import main

sys.exit(main())
