"""Login, roles and user management."""
