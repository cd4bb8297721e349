"""HTTP routes, one module per resource, plus the dependencies and error handlers they share."""
