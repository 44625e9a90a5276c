"""The auvious simulator: `app.create_app` is mounted by `confctl sim serve`; `controls` holds the
`confctl sim auvious` helpers."""
