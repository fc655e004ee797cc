"""``goselfies`` subcommands for training (registered in ``goselfies.cli.COMMANDS``)."""
