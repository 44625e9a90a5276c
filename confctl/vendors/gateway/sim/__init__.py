"""The gateway simulator, in the shape every vendor's simulator has: `state` is the world (data and rules, no
HTTP), `app.create_app` its API routes and `app_controls` its /_sim routes, mounted by `confctl sim serve`;
`controls` holds the `confctl sim gateway` helpers. Refusals are `confctl.core.sim.kit.SimError`."""
