"""Shared fixtures for the gateway tests that need no simulator: `gw_env` points a gateway profile at GW
(requests there are answered by pytest-httpx's `httpx_mock`), with no prompts."""

from __future__ import annotations

import pytest

GW = "https://gw.example.com"


@pytest.fixture
def gw_env(home, monkeypatch):
    monkeypatch.setenv("CONFCTL_GATEWAY_URL", GW)
    monkeypatch.setenv("CONFCTL_GATEWAY_APP_ID", "app-1")
    monkeypatch.setenv("CONFCTL_GATEWAY_API_KEY", "sekrit-key-1")
    monkeypatch.setenv("CONFCTL_NO_INPUT", "1")
