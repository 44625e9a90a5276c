"""Local simulators of the four vendor APIs (DESIGN §9), mounted side by side on one loopback port:
/gateway, /pexip, /mind and /auvious. Needs the `sim` extra (starlette, uvicorn)."""
