"""`python -m flows` runs the opspulse command line."""

from flows.cli import main

main()
