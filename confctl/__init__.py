"""confctl: one command line for Pexip, Mind, Auvious and telephony-gateway conferences."""

__version__ = "0.1.0"
