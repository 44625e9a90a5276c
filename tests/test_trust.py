"""One trust decision for every connection (core.http.verify_for): `--ca-bundle`, else the profile's `ca_bundle`,
adds its certificates to the default CAs; neither means the default CAs. Checked over real TLS on loopback with a
private CA: each vendor's HTTP session, and the Mind WebSocket, which is not made by httpx."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from confctl.core import config, http
from confctl.core.errors import ConfigError, exit_code_for
from confctl.core.state import state

x509 = pytest.importorskip("cryptography.x509")

VENDORS = {  # the least each vendor's session needs, besides the URL
    "gateway": ({"app_id": "app"}, {"CONFCTL_GATEWAY_API_KEY": "gateway-key-123456"}),
    "mind": ({"app_id": "app"}, {"CONFCTL_MIND_TOKEN": "mind-token-123456"}),
    "pexip": ({}, {}),
    "auvious": ({"client_id": "client"}, {}),
}


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    monkeypatch.setattr(state, "ca_bundle", None)
    for values in VENDORS.values():
        for var, value in values[1].items():
            monkeypatch.setenv(var, value)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A private CA (ca.pem) and a certificate for 127.0.0.1 that it signed (server.pem, server.key)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, key, issuer, issuer_key, *, ca):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False), critical=True)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "confctl test CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    ca_cert = cert(ca_name, ca_key, ca_name, ca_key, ca=True)
    leaf = cert(leaf_name, leaf_key, ca_name, ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder


def server_context(tls) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "server.pem", tls / "server.key")
    return context


@pytest.fixture(scope="module")
def https_url(tls):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context(tls).wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def wss_url(tls):
    from websockets.sync.server import serve

    server = serve(lambda ws: ws.wait_closed(), "127.0.0.1", 0, ssl=server_context(tls))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"https://127.0.0.1:{server.socket.getsockname()[1]}"
    server.shutdown()


def profile(vendor: str, url: str, ca_bundle=None):
    fields = VENDORS[vendor][0]
    entry = {"provider": vendor, "url": url, "secret_store": "env", **fields}
    if ca_bundle:
        entry["ca_bundle"] = str(ca_bundle)
    return config.from_entry("t", entry)


def session_for(vendor, prof):
    from confctl.core import registry

    return registry.get(vendor).load().session(prof)


# -- the decision ----------------------------------------------------------------------------------------------
def test_no_bundle_means_the_default_cas(tls):
    assert http.verify_for(profile("gateway", "https://x.test")) is True
    assert http.verify_for(None) is True


def test_the_flag_wins_over_the_profile_and_a_bad_file_names_where_it_came_from(tls, tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError) as exc:
        http.verify_for(profile("gateway", "https://x.test", missing))
    assert "ca_bundle of profile 't'" in exc.value.message and exit_code_for(exc.value) == 2
    state.ca_bundle = str(tls / "ca.pem")
    assert isinstance(http.verify_for(profile("gateway", "https://x.test", missing)), ssl.SSLContext)
    state.ca_bundle = str(missing)
    with pytest.raises(ConfigError) as exc:
        http.verify_for(profile("gateway", "https://x.test"))
    assert exc.value.message.startswith("--ca-bundle:")


def test_the_websocket_context_is_the_default_cas_plus_the_bundle(tls):
    """Before, the Mind WebSocket trusted only the bundle's certificates (cafile), unlike the HTTP layer."""
    import certifi

    defaults = ssl.create_default_context(cafile=certifi.where()).get_ca_certs()
    trusted = http.ssl_context_for(profile("mind", "https://x.test", tls / "ca.pem")).get_ca_certs()
    subjects = {str(c["subject"]) for c in trusted}
    assert any("confctl test CA" in s for s in subjects)
    assert len(trusted) == len(defaults) + 1
    assert isinstance(http.ssl_context_for(profile("mind", "https://x.test")), ssl.SSLContext)


# -- every connection uses it ----------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_each_vendor_session_trusts_the_profile_bundle(vendor, tls, https_url):
    session = session_for(vendor, profile(vendor, https_url, tls / "ca.pem"))
    assert session.client.get(https_url + "/").json() == {"ok": True}
    session.close()


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_each_vendor_session_trusts_the_flag_bundle(vendor, tls, https_url):
    state.ca_bundle = str(tls / "ca.pem")
    session = session_for(vendor, profile(vendor, https_url))
    assert session.client.get(https_url + "/").json() == {"ok": True}
    session.close()


def test_without_the_bundle_the_private_ca_is_refused(https_url):
    import httpx

    session = session_for("gateway", profile("gateway", https_url))
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        session.client.get(https_url + "/")
    session.close()


@pytest.mark.parametrize("where", ["profile", "flag"])
def test_the_mind_websocket_trusts_the_bundle(where, tls, wss_url):
    from confctl.vendors.mind.events import ConferenceFollower

    bundle = tls / "ca.pem"
    if where == "flag":
        state.ca_bundle = str(bundle)
    follower = ConferenceFollower(profile("mind", wss_url, bundle if where == "profile" else None), "c1",
                                  threading.Event())
    assert follower.url.startswith("wss://")
    ws = follower.connect()
    ws.close()


def test_the_mind_websocket_without_the_bundle_is_refused(wss_url):
    from confctl.vendors.mind.events import ConferenceFollower

    follower = ConferenceFollower(profile("mind", wss_url), "c1", threading.Event())
    with pytest.raises(ssl.SSLCertVerificationError):
        follower.connect()
