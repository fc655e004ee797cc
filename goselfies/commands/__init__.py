"""CLI subcommands (registered in ``goselfies.cli.COMMANDS``)."""
