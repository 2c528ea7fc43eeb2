"""``python -m numpy_luke COMMAND ...`` and the ``numpy-luke`` script: see numpy_luke/cli.py.

The command line imports its dependencies at the top of its modules; one that is missing
is reported here as the installation's problem (which package to install), in one line,
not as a traceback.
"""

import sys

from .errors import missing_dependency

try:
    from .cli import main
except ImportError as error:
    if (install := missing_dependency(error)) is None:
        raise
    command = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    where = "numpy_luke" + (f" {command}" if command else "")
    message = f"{where}: error: {install}\n"

    def main(argv: list[str] | None = None) -> int:
        sys.stderr.write(message)
        return 1


if __name__ == "__main__":
    sys.exit(main())
