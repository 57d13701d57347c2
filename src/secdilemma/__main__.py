"""``python -m secdilemma``: the same command line as ``secdilemma``."""

from secdilemma.interfaces.cli import main

if __name__ == "__main__":
    main()
