"""The ``aekit`` command line. Each subcommand is a module ``cmd_<name>.py`` in this package."""
