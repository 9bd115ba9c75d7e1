"""``python -m dragonjax``: the command line (:mod:`dragonjax.cli`)."""
import sys

from .cli import main

sys.exit(main())
