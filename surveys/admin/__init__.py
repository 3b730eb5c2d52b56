"""Administration: user accounts, roles, committee scopes and institutions."""
