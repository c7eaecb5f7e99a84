"""One module per subcommand: ``register(subparsers)`` adds its flags, ``run(args)`` calls the library."""
