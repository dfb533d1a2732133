"""``python -m sleepmeta``: the same command line as the ``sleepmeta`` script."""

from sleepmeta.cli import main

if __name__ == "__main__":
    main()
