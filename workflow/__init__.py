"""The engine, the services behind each command, imports, progress queries and the CLI."""
