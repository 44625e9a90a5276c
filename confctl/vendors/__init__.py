"""One package per vendor: its endpoint table, session and auth, workflows, event source and simulator."""
