"""Runbooks: a YAML list of steps (vendor commands, cross-vendor verbs, waits, named values) that `confctl run`
validates as a whole, plans against the current state (`--plan`, nothing that changes state is sent) and applies
idempotently, resuming from a state file (`--resume`). See docs/runbooks.md.

Modules: `refs` (the `${...}` references), `load` (reading and validating a file), `probe` (does a step's goal
already hold?), `engine` (plan and apply), `statefile` (the resumable state), `report` (per-step output),
`command` (`confctl run`)."""
