"""Domain functions of the tenant API: keyword-only, transport-free, one module per resource."""
