"""A realistic, reproducible demo data set."""
