"""One module per resource of the tenant API."""
