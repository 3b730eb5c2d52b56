"""The JSON API: indicator records for users' own tools, with personal API tokens."""
