"""The routes, one module per resource; ``api.app.ROUTERS`` lists what is mounted."""
