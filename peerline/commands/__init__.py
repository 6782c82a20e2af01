"""The ``flask --app wsgi …`` command groups, one small module each (thin: each command
calls the domain). They are attached to the app in one place, :func:`peerline.cli.register_cli`."""
