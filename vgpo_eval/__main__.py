"""`python -m vgpo_eval`: see `vgpo_eval.cli`."""

import sys

from vgpo_eval.cli import main

if __name__ == "__main__":
    sys.exit(main())
