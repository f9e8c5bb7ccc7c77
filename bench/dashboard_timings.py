"""Dashboard timings for bench/dashboard.sh: FCP of a 50-row list, and in-browser creates."""

import json
import os
import statistics
import sys
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.sync_api import expect, sync_playwright

ORIGIN, TOKEN, ZONE = (os.environ[k] for k in ("CLIENTCA_ORIGIN", "CLIENTCA_TOKEN", "CLIENTCA_ZONE"))
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 15
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def seed(count):
    """`count` certificates through the API, so the list page has full rows."""
    for n in range(count):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"seed{n}.example.com"),
                                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bench")]))
               .sign(key, hashes.SHA256()))
        body = json.dumps({"csr": csr.public_bytes(serialization.Encoding.PEM).decode(), "validity_days": 90})
        request = urllib.request.Request(
            f"{ORIGIN}/client/v4/zones/{ZONE}/client_certificates", data=body.encode(), method="POST",
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        urllib.request.urlopen(request).read()


def ms(values):
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms (n={len(values)})"


def main():
    seed(50)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.goto(f"{ORIGIN}/ui/login")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(f"{ORIGIN}/ui/")
        cookies = context.cookies()

        paints = []
        for _ in range(ROUNDS):
            cold = browser.new_context()
            cold.add_cookies(cookies)
            tab = cold.new_page()
            tab.goto(f"{ORIGIN}/ui/zones/{ZONE}/certificates?per_page=50", wait_until="load")
            fcp = None
            for _ in range(100):  # paint entries arrive just after load; polled (CSP forbids eval)
                fcp = tab.evaluate("performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0]")
                if fcp is not None:
                    break
                tab.wait_for_timeout(50)
            assert fcp is not None, "no first-contentful-paint entry" 
            rows = tab.locator("tbody tr").count()
            assert rows == 50, rows
            paints.append(fcp / 1000)
            cold.close()
        print(f"first contentful paint, 50-row list, cold cache: {ms(paints)}")

        for algorithm in ("P-256", "RSA-2048"):
            times = []
            for n in range(ROUNDS):
                page.goto(f"{ORIGIN}/ui/zones/{ZONE}/certificates/new")
                page.select_option("#kg-algorithm", algorithm)
                page.fill("#kg-cn", f"bench-{algorithm}-{n}.example.com")
                page.fill("#kg-password", "bench-password-123")
                started = time.monotonic()
                page.click("#kg-submit")
                expect(page.locator("#keygen-result")).to_be_visible(timeout=60_000)
                times.append(time.monotonic() - started)
            print(f"{algorithm} in the browser, key → CSR → issue → .p12: {ms(times)}")
        browser.close()


if __name__ == "__main__":
    main()
