"""The dashboard in a real browser: Debian's Chromium driven by Playwright for Python.

Run by crates/clientca/tests/api/browser.rs against a fresh server (both databases). The server is
at CLIENTCA_ORIGIN (http://localhost:PORT, a secure context), CLIENTCA_TOKEN is an account-wide
edit token, CLIENTCA_ZONE the zone. When the script prints `publish`, the Rust side runs one
publication pass and answers `published` on stdin, so "revoked without a reload" is a real pass.
Every check is an assert; the last line printed is `all browser checks passed`.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.sync_api import expect, sync_playwright

ORIGIN = os.environ["CLIENTCA_ORIGIN"]
TOKEN = os.environ["CLIENTCA_TOKEN"]
ZONE = os.environ["CLIENTCA_ZONE"]
CHROMIUM = os.environ.get("CLIENTCA_CHROMIUM", "/usr/bin/chromium")
API = f"{ORIGIN}/client/v4"
WORK = Path(tempfile.mkdtemp(prefix="clientca-browser-"))

# Without the background-networking flags Chromium phones home (refused on this network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def publish():
    """Ask the Rust side for one publication pass, and wait until it has run."""
    print("publish", flush=True)
    answer = sys.stdin.readline().strip()
    assert answer == "published", answer


def api(method, path, body=None):
    import urllib.request

    request = urllib.request.Request(
        f"{API}{path}",
        method=method,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode(),
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def check_versions(browser):
    """Debian's Chromium and the Chromium this Playwright release was built for must not drift
    more than one major apart: the protocol Playwright speaks follows its own Chromium."""
    import playwright

    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    bundled = next(
        b["browserVersion"] for b in json.loads(browsers.read_text())["browsers"] if b["name"] == "chromium"
    )
    installed = browser.version
    bundled_major, installed_major = int(bundled.split(".")[0]), int(installed.split(".")[0])
    assert abs(bundled_major - installed_major) <= 1, (
        f"Debian's chromium is {installed} but playwright is built for Chromium {bundled}: "
        f"pin the playwright release whose Chromium major is {installed_major} in "
        "crates/clientca/tests/sdk/requirements.txt"
    )
    print(f"chromium {installed}, playwright built for {bundled}")


class Recorder:
    """Every request the browser context sends, and every CSP complaint on the console."""

    def __init__(self, context):
        self.requests = []
        self.csp = []
        context.on("request", self.request)

    def request(self, request):
        body = request.post_data_buffer or b""
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        self.requests.append((request.url, headers.encode(), body))

    def console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.csp.append(text)

    def watch(self, page):
        page.on("console", self.console)
        return page


def key_encodings(der, public_der):
    """The private key as a leak would carry it: raw DER, base64 (standard and URL-safe, with or
    without padding), hex, and every 64-character window of its base64 — except windows that
    encode public key bytes only (PKCS#8 carries the public key too, and the CSR sends it)."""
    std = base64.b64encode(der).decode()
    url = base64.urlsafe_b64encode(der).decode()
    forms = [der, std.encode(), url.encode(), std.rstrip("=").encode(), url.rstrip("=").encode()]
    forms += [der.hex().encode(), der.hex().upper().encode()]
    public = [
        encode(public_der[shift:]).decode()
        for shift in range(3)
        for encode in (base64.b64encode, base64.urlsafe_b64encode)
    ]
    for text in (std, url):
        for i in range(0, max(1, len(text) - 63)):
            window = text[i : i + 64]
            if not any(window in p for p in public):
                forms.append(window.encode())
    return forms


def leaks(recorder, der):
    """The requests that carry the key in any of its encodings (URL-encoded bodies decoded too)."""
    from urllib.parse import unquote_to_bytes

    key = serialization.load_der_private_key(der, password=None)
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = key_encodings(der, public_der)
    found = []
    for url, headers, body in recorder.requests:
        for blob in (url.encode(), unquote_to_bytes(url), headers, body, unquote_to_bytes(body.replace(b"+", b" "))):
            if any(form in blob for form in forms):
                found.append(url)
                break
    return found


def sign_in(page):
    page.goto(f"{ORIGIN}/ui/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{ORIGIN}/ui/")


def create_in_browser(page, recorder, algorithm, common_name):
    page.goto(f"{ORIGIN}/ui/zones/{ZONE}/certificates/new")
    expect(page.locator("#tab-generate")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("window.isSecureContext"), "localhost is a secure context"
    page.select_option("#kg-algorithm", algorithm)
    page.fill("#kg-cn", common_name)
    page.fill("#kg-o", "Browser Test")
    page.fill("#kg-c", "DE")
    page.click("#kg-generate-password")
    password = page.input_value("#kg-password")
    assert len(password) >= 16, password
    started = time.monotonic()
    page.click("#kg-submit")
    expect(page.locator("#keygen-result")).to_be_visible(timeout=60_000)
    elapsed = time.monotonic() - started
    print(f"{algorithm}: key, CSR, issue and .p12 in {elapsed:.2f} s")

    # Nothing kept in the browser's storage.
    stored = page.evaluate(
        "async () => [localStorage.length, sessionStorage.length, (await indexedDB.databases()).length]"
    )
    assert stored == [0, 0, 0], stored

    files = {}
    for kind in ("p12", "key", "certificate", "chain"):
        with page.expect_download() as info:
            page.click(f"[data-download={kind}]")
        path = WORK / f"{algorithm}-{info.value.suggested_filename}"
        info.value.save_as(path)
        files[kind] = path
    return password, files


def check_keys(recorder, page, password, files, common_name, rsa):
    key = serialization.load_pem_private_key(files["key"].read_bytes(), password=None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert not leaks(recorder, der), f"the private key left the browser: {leaks(recorder, der)}"

    leaf = x509.load_pem_x509_certificate(files["certificate"].read_bytes())
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    assert leaf.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki), (
        "the issued leaf certifies the browser's key"
    )
    assert leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == common_name

    # The .p12: OpenSSL 3's algorithms, two certificates, the key that matches the leaf.
    p12 = files["p12"]
    info = subprocess.run(
        ["openssl", "pkcs12", "-info", "-in", p12, "-passin", f"pass:{password}", "-noout"],
        capture_output=True,
        text=True,
    )
    assert info.returncode == 0, info.stderr
    report = info.stdout + info.stderr
    assert "MAC: sha256, Iteration 2048" in report, report
    assert report.count("PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256") == 2, report
    certs = subprocess.run(
        ["openssl", "pkcs12", "-in", p12, "-passin", f"pass:{password}", "-nokeys"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert certs.count("BEGIN CERTIFICATE") == 2, certs
    assert f"friendlyName: {common_name}" in certs, certs
    key_out = subprocess.run(
        ["openssl", "pkcs12", "-in", p12, "-passin", f"pass:{password}", "-nocerts", "-nodes"],
        capture_output=True,
        check=True,
    ).stdout
    p12_key = serialization.load_pem_private_key(
        key_out[key_out.index(b"-----BEGIN") :], password=None
    )
    assert p12_key.public_key().public_bytes(*spki) == leaf.public_key().public_bytes(*spki)

    loaded = pkcs12.load_pkcs12(p12.read_bytes(), password.encode())
    assert loaded.cert.certificate == leaf
    assert loaded.cert.friendly_name == common_name.encode()
    assert len(loaded.additional_certs) == 1
    chain = x509.load_pem_x509_certificates(files["chain"].read_bytes())
    assert loaded.additional_certs[0].certificate == chain[0]

    keytool = subprocess.run(
        ["keytool", "-list", "-keystore", p12, "-storetype", "PKCS12", "-storepass", password],
        capture_output=True,
        text=True,
    )
    assert keytool.returncode == 0 and "PrivateKeyEntry" in keytool.stdout, keytool.stdout + keytool.stderr

    nss = WORK / f"nss-{'rsa' if rsa else 'ec'}"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    pk12util = subprocess.run(
        ["pk12util", "-i", p12, "-d", f"sql:{nss}", "-W", password], capture_output=True, text=True
    )
    assert pk12util.returncode == 0, pk12util.stdout + pk12util.stderr
    listed = subprocess.run(["certutil", "-L", "-d", f"sql:{nss}"], capture_output=True, text=True, check=True)
    assert common_name in listed.stdout, listed.stdout
    return der


def negative_control(page, recorder, der):
    """Make the page send the key: the leak check must catch it, or it proves nothing."""
    before = len(recorder.requests)
    encoded = base64.b64encode(der).decode()
    page.evaluate(
        "key => fetch('/ui/leak-probe', {method: 'POST', body: new URLSearchParams({k: key})})",
        encoded,
    )
    page.wait_for_timeout(300)
    assert len(recorder.requests) > before
    assert leaks(recorder, der), "the leak check did not notice a key that was sent"
    del recorder.requests[before:]


def revoke_and_watch(page, certificate_url, serial_hex):
    page.goto(certificate_url)
    page.click("text=Revoke…")
    page.select_option("#reason", "keyCompromise")
    page.click("button:has-text('Revoke certificate')")
    badge = page.locator("#certificate-status .badge")
    expect(badge).to_have_text("Revoking")
    publish()
    # No reload: htmx polls while the revocation is pending.
    expect(badge).to_have_text("Revoked", timeout=15_000)
    ca_id = api("GET", f"/zones/{ZONE}/client_certificates")["result"][0]["certificate_authority"]["id"]
    crl = x509.load_der_x509_crl(page.request.get(f"{ORIGIN}/ca/{ca_id}/crl").body())
    assert crl.get_revoked_certificate_by_serial_number(int(serial_hex, 16)) is not None


def undo(page, certificate_url, certificate_id):
    page.goto(certificate_url)
    page.click("text=Revoke…")
    page.click("button:has-text('Revoke certificate')")
    expect(page.locator("#certificate-status .badge")).to_have_text("Revoking")
    page.click("button:has-text('Undo revocation')")
    expect(page.locator("#certificate-status .badge")).to_have_text("Reactivating")
    publish()
    expect(page.locator("#certificate-status .badge")).to_have_text("Active", timeout=15_000)
    status = api("GET", f"/zones/{ZONE}/client_certificates/{certificate_id}")["result"]["status"]
    assert status == "active", status


def hostnames(page):
    page.goto(f"{ORIGIN}/ui/zones/{ZONE}/hostnames")
    page.fill("#hostnames", "app.example.com\nmtls.example.com")
    page.click("button:has-text('Save hostnames')")
    expect(page.locator("p.notice")).to_have_text("Saved: 2 hostnames.")
    path = f"/zones/{ZONE}/certificate_authorities/hostname_associations"
    assert api("GET", path)["result"]["hostnames"] == ["app.example.com", "mtls.example.com"]
    page.fill("#hostnames", "ok.example.com\nnot a hostname!")
    page.click("button:has-text('Save hostnames')")
    error = page.locator("#hostnames-error")
    expect(error).to_contain_text("error 1104")
    expect(page.locator("#hostnames")).to_have_attribute("aria-invalid", "true")
    assert api("GET", path)["result"]["hostnames"] == ["app.example.com", "mtls.example.com"]


def main():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        check_versions(browser)
        context = browser.new_context(accept_downloads=True)
        recorder = Recorder(context)
        page = recorder.watch(context.new_page())
        sign_in(page)

        keys = {}
        for algorithm, common_name in (("P-256", "browser-p256.example.com"), ("RSA-2048", "browser-rsa.example.com")):
            password, files = create_in_browser(page, recorder, algorithm, common_name)
            keys[algorithm] = check_keys(recorder, page, password, files, common_name, algorithm.startswith("RSA"))
        negative_control(page, recorder, keys["P-256"])

        listed = api("GET", f"/zones/{ZONE}/client_certificates")["result"]
        by_name = {c["common_name"]: c for c in listed}
        p256 = by_name["browser-p256.example.com"]
        rsa = by_name["browser-rsa.example.com"]
        base = f"{ORIGIN}/ui/zones/{ZONE}/certificates"
        undo(page, f"{base}/{rsa['id']}", rsa["id"])
        revoke_and_watch(page, f"{base}/{p256['id']}", format(int(p256["serial_number"]), "x"))
        hostnames(page)

        assert not recorder.csp, f"CSP violations: {recorder.csp}"
        foreign = [url for url, _, _ in recorder.requests if not url.startswith((ORIGIN, "blob:", "data:"))]
        assert not foreign, f"requests to other origins: {foreign}"
        for url, _, _ in recorder.requests:
            assert "/client/v4" not in url or url.startswith(API), url
        browser.close()
    print("all browser checks passed")


if __name__ == "__main__":
    main()
