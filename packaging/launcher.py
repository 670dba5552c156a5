"""PyInstaller entry point: the same ``main`` as ``python -m unlearn_gui`` / the ``unlearn-gui`` script."""
import multiprocessing
import sys

from unlearn_gui.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # torch/datasets may start worker processes from the frozen exe
    sys.exit(main())
