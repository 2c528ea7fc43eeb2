"""``python -m numpy_luke COMMAND ...``: see numpy_luke/cli.py."""

import sys

from .cli import main

sys.exit(main())
