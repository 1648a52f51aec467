"""``python -m aekit``: the command line (what ``torchrun -m aekit train ...`` starts in each process)."""

import sys

from aekit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
