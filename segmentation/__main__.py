"""``python -m segmentation``: the command line."""

import sys

from segmentation.cli import main

if __name__ == "__main__":
    sys.exit(main())
