"""`python -m cli`: the oneruler command."""

from cli.main import main

main()
