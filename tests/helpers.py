"""Signing in through the test client, shared by the page tests."""

from __future__ import annotations

from tests import factories


def login(client, username: str):
    """Sign `client` in as `username` (signing out whoever was signed in); returns the client."""
    client.post("/logout")
    resp = client.post("/login", data={"username": username, "password": factories.PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    return client


def signed_in(app, username: str):
    """A new client of `app`, signed in as `username`."""
    return login(app.test_client(), username)


def send(client, method: str, url: str, **kwargs):
    return client.open(url, method=method, **kwargs)
