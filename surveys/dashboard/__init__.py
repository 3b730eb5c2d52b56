"""What accreditation committees read: programmes under review and their statistics."""
