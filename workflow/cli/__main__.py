"""`python -m workflow.cli` runs the `rollout` command."""

from workflow.cli import main

main()
