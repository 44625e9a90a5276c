"""confctl top: the live cockpit (Textual), imported only by `confctl top`."""
