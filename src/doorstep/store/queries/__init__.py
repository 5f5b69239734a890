"""Queries, one module per resource: what the service's rules and the routers read and write."""
