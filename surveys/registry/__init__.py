"""The registry: institutions, programmes, graduates, employers, agreements, employment."""
