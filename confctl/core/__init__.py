"""The framework: the command builder, HTTP layer, output, profiles and secrets, the event runner and the
simulator host. Nothing here is specific to one vendor; each vendor lives in `confctl.vendors.<name>`."""
