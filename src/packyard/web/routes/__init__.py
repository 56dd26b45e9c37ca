"""The web interface's routes: browse (home, search, package pages), account (sign-in, tokens),
manage (yank, owners, visibility: the package owners' forms) and admin."""
