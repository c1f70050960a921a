"""`python -m assistant.cli`: the same entry point as the `assistant` console script."""

from assistant.cli.main import main

if __name__ == "__main__":
    main()
