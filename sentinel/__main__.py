"""`python -m sentinel`: the same entry point as the `sentinel` command."""

from sentinel.cli.main import main

main()
