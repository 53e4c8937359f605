"""`python -m sciforge ...`: the same as the `sciforge` command."""

from sciforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
