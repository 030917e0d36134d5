"""`python -m openrms.cli`: the same as the `openrms` command."""

from openrms.cli import main

main()
