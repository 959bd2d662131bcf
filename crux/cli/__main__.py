"""`python -m crux.cli ...` runs the `crux` command."""
from crux.cli import main

main()
