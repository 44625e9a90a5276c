"""The pexip simulator, in the shape every vendor's simulator has: `state` is the world (data and rules, no
HTTP), `app.create_app` its routes, mounted by `confctl sim serve`; `controls` holds the
`confctl sim pexip` helpers. Refusals are `confctl.core.sim.kit.SimError`."""
