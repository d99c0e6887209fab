"""Run the sinmdm command line from a checkout: ``python cli.py info clip.bvh``."""

from sinmdm.cli.app import main

if __name__ == "__main__":
    main()
