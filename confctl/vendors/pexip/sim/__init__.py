"""The pexip simulator: `app.create_app` is mounted by `confctl sim serve`; `controls` holds the
`confctl sim pexip` helpers."""
