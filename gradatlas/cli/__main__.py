"""``python -m gradatlas.cli``: the ``gradatlas`` command."""

import sys

from gradatlas.cli import main

sys.exit(main())
