"""Drive clientca with the official Cloudflare Python SDK, unchanged.

Run by crates/clientca/tests/api/sdk.rs with CLIENTCA_BASE_URL, CLIENTCA_TOKEN and CLIENTCA_ZONE
set. Strict response validation is on, retries off: any shape the SDK does not accept fails here.
"""

import hashlib
import os

from cloudflare import BadRequestError, Cloudflare, NotFoundError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

BASE_URL = os.environ["CLIENTCA_BASE_URL"]
TOKEN = os.environ["CLIENTCA_TOKEN"]
ZONE = os.environ["CLIENTCA_ZONE"]

client = Cloudflare(api_token=TOKEN, base_url=BASE_URL, _strict_response_validation=True, max_retries=0)
certs = client.client_certificates


def make_csr(key, common_name):
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SDK Test GmbH"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def check_issued(created, key, common_name, validity_days):
    assert created.status == "active", created.status
    assert created.common_name == common_name
    assert created.country == "DE" and created.organization == "SDK Test GmbH"
    assert created.validity_days == validity_days
    cert = x509.load_pem_x509_certificate(created.certificate.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    assert cert.serial_number == int(created.serial_number)
    assert hashlib.sha256(der).hexdigest() == created.fingerprint_sha256
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert lifetime.days == validity_days and lifetime.seconds == 0
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    assert ski == created.ski
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca is False
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usages


issued = []
for key, name in [
    (rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-2048-client"),
    (ec.generate_private_key(ec.SECP256R1()), "p256-client"),
]:
    created = certs.create(zone_id=ZONE, csr=make_csr(key, name), validity_days=90)
    check_issued(created, key, name, 90)
    fetched = certs.get(created.id, zone_id=ZONE)
    assert fetched.to_dict() == created.to_dict()
    issued.append(created)

# Auto-pagination walks page by page until an empty page.
for i in range(11):
    certs.create(zone_id=ZONE, csr=make_csr(ec.generate_private_key(ec.SECP256R1()), f"bulk-{i}"), validity_days=1)
listed = [c.id for c in certs.list(zone_id=ZONE, per_page=5)]
assert len(listed) == 13 and len(set(listed)) == 13, listed
assert set(c.id for c in issued) <= set(listed)
# Page numbers typed as floats, as the SDK allows.
from_page_two = [c.id for c in certs.list(zone_id=ZONE, page=2.0, per_page=5.0)]
assert from_page_two == listed[5:], (from_page_two, listed)

# Revoke, undo inside the publication window, revoke again.
target = issued[0].id
assert certs.delete(target, zone_id=ZONE).status == "pending_revocation"
assert certs.delete(target, zone_id=ZONE).status == "pending_revocation"
assert certs.edit(target, zone_id=ZONE).status == "pending_reactivation"
assert certs.edit(target, zone_id=ZONE, reactivate=True).status == "pending_reactivation"
assert certs.delete(target, zone_id=ZONE).status == "pending_revocation"
pending = [c.id for c in certs.list(zone_id=ZONE, status="pending_revocation")]
assert pending == [target], pending
assert len([c for c in certs.list(zone_id=ZONE, status="active")]) == 12

try:
    certs.create(zone_id=ZONE, csr="-----BEGIN CERTIFICATE REQUEST-----\nMIICY\n-----END CERTIFICATE REQUEST-----\n", validity_days=10)
    raise AssertionError("a fake CSR was accepted")
except BadRequestError as error:
    assert error.status_code == 400

try:
    certs.get("00000000-0000-0000-0000-000000000000", zone_id=ZONE)
    raise AssertionError("an unknown id was found")
except NotFoundError as error:
    assert error.status_code == 404

print("official SDK: all operations passed")
