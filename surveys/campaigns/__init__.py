"""Survey campaigns and personal invitations."""
