"""HTTPS both ways: an EnsLib.HTTP.InboundAdapter with SSLConfig (certificate and key files)
called by an EnsLib.HTTP.OutboundAdapter with SSLConfig (the CA bundle that verifies it), in
one production: client -> HttpIn (HTTP) -> HttpOut (HTTPS) -> Secure (HTTPS listener)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import httpx
from http_support import free_port, wait_port

COMPONENTS = '''
from iop.connectors.http.generic_message import GenericMessage


class Secure(BusinessService):
    @classmethod
    def get_adapter_type(cls):
        return "EnsLib.HTTP.InboundAdapter"

    def on_process_input(self, request):
        return GenericMessage.response(200, f"secure {request.method} {request.url} "
                                       f"{request.Stream}".encode(), {"Content-Type": "text/plain"})
'''


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_in_and_out_with_certificate_files(make_project: Any, store: Any,
                                                  tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    plain, secure = free_port(), free_port()
    project = make_project(COMPONENTS, f'''
prod = Production("Http.Tls")
prod.service("HttpIn", class_name="EnsLib.HTTP.GenericService") \\
    .adapter_setting("Port", "{plain}").adapter_setting("LocalInterface", "127.0.0.1") \\
    .adapter_setting("CallInterval", "0.5").host_setting("TargetConfigName", "HttpOut")
prod.operation("HttpOut", class_name="EnsLib.REST.GenericOperation") \\
    .adapter_setting("HTTPServer", "127.0.0.1").adapter_setting("HTTPPort", "{secure}") \\
    .adapter_setting("SSLConfig", "{cert}")
prod.service("Secure", Secure).adapter_setting("Port", "{secure}") \\
    .adapter_setting("LocalInterface", "127.0.0.1").adapter_setting("CallInterval", "0.5") \\
    .adapter_setting("SSLConfig", "{cert},{key}")
PRODUCTIONS = [prod]
''')
    project.migrate()
    project.start("Http.Tls")
    wait_port(plain)
    wait_port(secure)
    # Through the production: verified HTTPS from HttpOut to Secure.
    answer = httpx.post(f"http://127.0.0.1:{plain}/deep/path", content=b"hi", timeout=30)
    assert (answer.status_code, answer.text) == (200, "secure POST /deep/path hi")
    # Directly: the listener speaks TLS with that certificate, and refuses plain HTTP.
    trusting = ssl.create_default_context(cafile=str(cert))
    direct = httpx.get(f"https://127.0.0.1:{secure}/x", verify=trusting, timeout=30)
    assert (direct.status_code, direct.text) == (200, "secure GET /x ")
    try:
        httpx.get(f"http://127.0.0.1:{secure}/x", timeout=10)
        raise AssertionError("plain HTTP was answered on an HTTPS port")
    except httpx.HTTPError:
        pass
    [sent] = store.query_headers(source="HttpIn", target="HttpOut", type="request", limit=0)
    assert sent.status == "completed"
