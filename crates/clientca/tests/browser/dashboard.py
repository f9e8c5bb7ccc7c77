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
# When set, the README's screenshots are (re)written into this directory.
SCREENSHOTS = os.environ.get("CLIENTCA_SCREENSHOTS")
AXE = Path(__file__).resolve().parents[1] / "sdk" / "node_modules" / "axe-core" / "axe.min.js"
# Transfer budgets (gzip): a cold load of any page, and what key generation loads on top.
PAGE_BUDGET = 60 * 1024
CRYPTO_BUDGET = 110 * 1024
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
    assert "MAC: sha256, Iteration 100000" in report, report
    assert report.count("PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256") == 2, report
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


def tab_to(page, selector, limit=80):
    """Press Tab until the focused element matches `selector` (a keyboard user's way there)."""
    for _ in range(limit):
        if page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def keyboard_only(page, certificate_url):
    """Create, revoke and edit hostnames without the mouse."""
    page.goto(f"{ORIGIN}/ui/zones/{ZONE}/certificates/new")
    tab_to(page, "#kg-cn")
    page.keyboard.type("keyboard.example.com")
    tab_to(page, "#kg-generate-password")
    page.keyboard.press("Enter")
    tab_to(page, "#kg-submit")
    page.keyboard.press("Enter")
    expect(page.locator("#keygen-result")).to_be_visible(timeout=60_000)
    expect(page.locator("#kg-result-title")).to_be_focused()
    tab_to(page, "[data-download=p12]")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    assert info.value.suggested_filename == "keyboard.example.com.p12"

    page.goto(certificate_url)
    tab_to(page, "a.danger")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{certificate_url}/revoke")
    tab_to(page, "#reason")
    page.keyboard.type("Superseded")
    tab_to(page, "button.danger")
    page.keyboard.press("Enter")
    expect(page.locator("#certificate-status .badge")).to_have_text("Revoking")
    expect(page.locator("#certificate-status")).to_contain_text("superseded")

    page.goto(f"{ORIGIN}/ui/zones/{ZONE}/hostnames")
    tab_to(page, "#hostnames")
    page.keyboard.press("Control+A")
    page.keyboard.type("keys.example.com")
    page.keyboard.press("Enter")
    page.keyboard.type("board.example.com")
    tab_to(page, "button.primary")
    page.keyboard.press("Enter")
    expect(page.locator("p.notice")).to_have_text("Saved: 2 hostnames.")
    path = f"/zones/{ZONE}/certificate_authorities/hostname_associations"
    assert api("GET", path)["result"]["hostnames"] == ["board.example.com", "keys.example.com"]


def leave_guard(context):
    """Leaving the page before downloading the new key asks first; after the download it does not."""
    page = context.new_page()
    page.goto(f"{ORIGIN}/ui/zones/{ZONE}/certificates/new")
    page.fill("#kg-cn", "guard.example.com")
    page.click("#kg-generate-password")
    page.click("#kg-submit")
    expect(page.locator("#keygen-result")).to_be_visible(timeout=60_000)
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()  # stay on the page

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"], asked
    assert not page.is_closed(), "dismissing the question keeps the page (and the key)"
    with page.expect_download():
        page.click("[data-download=key]")
    with page.expect_event("close", timeout=5_000):
        page.close(run_before_unload=True)
    assert asked == ["beforeunload"], "no question once the key is saved"


def phone(context, urls):
    """Readable on a phone: at 375 px nothing makes the page scroll sideways (wide tables scroll
    inside their own box)."""
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 740})
    for url in urls:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{url} is {overflow} px wider than a phone"
    page.close()


def pages_to_check(certificate_id):
    zone = f"{ORIGIN}/ui/zones/{ZONE}"
    return [
        f"{ORIGIN}/ui/",
        zone,
        f"{zone}/certificates",
        f"{zone}/certificates?status=revoked",
        f"{zone}/certificates/{certificate_id}",
        f"{zone}/certificates/{certificate_id}/revoke",
        f"{zone}/certificates/new",
        f"{zone}/hostnames",
        f"{ORIGIN}/ui/audit",
        f"{ORIGIN}/ui/no-such-page",
    ]


def accessibility(browser, cookies, recorder, urls):
    """axe-core (WCAG 2.0/2.1/2.2 A and AA) on every page, light and dark: nothing serious or
    critical. axe is injected by Playwright, outside the page's CSP."""
    context = browser.new_context()
    context.add_cookies(cookies)
    context.add_init_script(path=str(AXE))
    page = recorder.watch(context.new_page())
    tags = ["wcag2a", "wcag2aa", "wcag21aa", "wcag22aa"]
    audit = lambda: page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return result.violations
              .filter((v) => v.impact === "serious" || v.impact === "critical")
              .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
        }""",
        tags,
    )
    # A control: a page with known faults must fail, or a passing audit proves nothing.
    page.goto("data:text/html,<html><body><img src='x.png'><p style='color:%23eee;background:%23fff'>faint</p></body></html>")
    control = audit()
    assert any(v.startswith("image-alt") for v in control) and any(v.startswith("color-contrast") for v in control), control
    urls = [f"{ORIGIN}/ui/login"] + urls
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for url in urls:
            if url.endswith("/ui/login"):
                context.clear_cookies()
            page.goto(url)
            violations = audit()
            assert not violations, f"{scheme} {url}: {violations}"
            if url.endswith("/ui/login"):
                context.add_cookies(cookies)
    context.close()


def budgets(browser, cookies, urls):
    """Bytes a cold load transfers (gzip), per page; the new-certificate page's key generation
    loads PKI.js on top, within its own budget."""
    for url in urls:
        context = browser.new_context()
        context.add_cookies(cookies)
        page = context.new_page()
        responses = []
        page.on("requestfinished", lambda request: responses.append(request))
        page.goto(url, wait_until="networkidle")
        total = sum(r.sizes()["responseBodySize"] for r in responses)
        assert total <= PAGE_BUDGET, f"{url}: {total} bytes over {PAGE_BUDGET}"
        print(f"budget: {url.removeprefix(ORIGIN)} {total} B cold (gzip)")
        if url.endswith("/certificates/new"):
            before = len(responses)
            page.evaluate("() => import('/ui/assets/pkijs.bundle.js')")
            page.wait_for_load_state("networkidle")
            crypto = sum(r.sizes()["responseBodySize"] for r in responses[before:])
            assert 0 < crypto <= CRYPTO_BUDGET, f"PKI.js: {crypto} bytes over {CRYPTO_BUDGET}"
            print(f"budget: new-certificate page {total} B + crypto {crypto} B (gzip)")
        context.close()
    print(f"budget: {len(urls)} pages, each within {PAGE_BUDGET} B")


def insecure_origin(playwright):
    """Over plain http on a name that is not localhost the sign-in cookie cannot be kept: the
    page says so (and key generation would not be offered)."""
    port = ORIGIN.rsplit(":", 1)[1]
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + ["--host-resolver-rules=MAP insecure.test 127.0.0.1"],
    )
    page = browser.new_page()
    page.goto(f"http://insecure.test:{port}/ui/login")
    assert not page.evaluate("window.isSecureContext")
    expect(page.locator("[data-insecure-origin]")).to_be_visible()
    browser.close()


def screenshots(page, certificate_url):
    if not SCREENSHOTS:
        return
    out = Path(SCREENSHOTS)
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 800})
    page.emulate_media(color_scheme="light")
    for name, url in (
        ("certificates", f"{ORIGIN}/ui/zones/{ZONE}/certificates"),
        ("certificate", certificate_url),
        ("new-certificate", f"{ORIGIN}/ui/zones/{ZONE}/certificates/new"),
    ):
        page.goto(url)
        page.screenshot(path=out / f"{name}.png", full_page=True)
    print(f"screenshots written to {out}")


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
        keyboard_only(page, f"{base}/{rsa['id']}")
        screenshots(page, f"{base}/{p256['id']}")

        leave_guard(context)
        cookies = context.cookies()
        urls = pages_to_check(p256["id"])
        phone(context, urls)
        accessibility(browser, cookies, recorder, urls)
        budgets(browser, cookies, urls)
        insecure_origin(playwright)

        assert not recorder.csp, f"CSP violations: {recorder.csp}"
        foreign = [url for url, _, _ in recorder.requests if not url.startswith((ORIGIN, "blob:", "data:"))]
        assert not foreign, f"requests to other origins: {foreign}"
        for url, _, _ in recorder.requests:
            assert "/client/v4" not in url or url.startswith(API), url
        browser.close()
    print("all browser checks passed")


if __name__ == "__main__":
    main()
