"""``python -m dragonjax``: the command line (:mod:`dragonjax.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
