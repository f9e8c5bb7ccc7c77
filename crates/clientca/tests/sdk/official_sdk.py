"""Drive clientca with the official Cloudflare Python SDK, unchanged.

Run by crates/clientca/tests/api/sdk.rs with CLIENTCA_BASE_URL, CLIENTCA_TOKEN and CLIENTCA_ZONE
set. Strict response validation is on, retries off: any shape the SDK does not accept fails here.
"""

import datetime
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
ZONE_NAME = os.environ["CLIENTCA_ZONE_NAME"]
ACCOUNT = os.environ["CLIENTCA_ACCOUNT"]

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


# Bring your own CA: upload a corporate chain (intermediate, then root), require it on a
# hostname, and see it refused for deletion while associated.
def make_ca(common_name, key, issuer_name=None, issuer_key=None, days=365):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, cert.public_bytes(serialization.Encoding.PEM).decode()


mtls = client.mtls_certificates
root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
root, root_pem = make_ca("Corporate Root", root_key, days=3650)
intermediate_key = ec.generate_private_key(ec.SECP256R1())
intermediate, intermediate_pem = make_ca(
    "Corporate Devices", intermediate_key, root.subject, root_key, days=365
)
uploaded = mtls.create(account_id=ACCOUNT, ca=True, certificates=intermediate_pem + root_pem, name="corporate")
assert uploaded.ca is True and uploaded.name == "corporate" and uploaded.type == "custom"
assert uploaded.issuer == "CN=Corporate Root", uploaded.issuer
assert uploaded.serial_number == str(intermediate.serial_number)
assert uploaded.signature == "SHA256WithRSA", uploaded.signature
assert uploaded.expires_on == intermediate.not_valid_after_utc, (uploaded.expires_on, intermediate.not_valid_after_utc)
assert uploaded.certificates == intermediate_pem + root_pem
assert uploaded.uploaded_on is not None and uploaded.updated_at is not None
assert mtls.get(uploaded.id, account_id=ACCOUNT).id == uploaded.id
assert [c.id for c in mtls.list(account_id=ACCOUNT)] == [uploaded.id]
assert list(mtls.associations.get(uploaded.id, account_id=ACCOUNT)) == []

for bad in [root_pem.replace("MII", "MIX", 1), intermediate_pem.replace("BEGIN", "BEGIN X", 1)]:
    try:
        mtls.create(account_id=ACCOUNT, ca=True, certificates=bad)
        raise AssertionError("garbage was accepted as a CA")
    except BadRequestError as error:
        assert error.status_code == 400
try:
    mtls.create(account_id=ACCOUNT, ca=True, certificates=root_pem, name="corporate")
    raise AssertionError("a duplicate name was accepted")
except BadRequestError as error:
    assert error.status_code == 400
try:
    mtls.create(account_id=ACCOUNT, ca=False, certificates=root_pem, private_key="x")
    raise AssertionError("a leaf with its key was accepted")
except BadRequestError as error:
    assert "CA certificates only" in str(error), error
assert len(list(mtls.list(account_id=ACCOUNT))) == 1, "refused uploads wrote nothing"

associations = client.certificate_authorities.hostname_associations
byo_host = f"byo.{ZONE_NAME}"
updated = associations.update(zone_id=ZONE, hostnames=[byo_host], mtls_certificate_id=uploaded.id)
assert updated.hostnames == [byo_host], updated
assert associations.get(zone_id=ZONE, mtls_certificate_id=uploaded.id).hostnames == [byo_host]
assert byo_host not in (associations.get(zone_id=ZONE).hostnames or []), "the managed CA's list is separate"
used = list(mtls.associations.get(uploaded.id, account_id=ACCOUNT))
assert [(a.service, a.status) for a in used] == [("gateway", "active")], used
try:
    mtls.delete(uploaded.id, account_id=ACCOUNT)
    raise AssertionError("an associated CA was deleted")
except BadRequestError as error:
    assert byo_host in str(error), error
associations.update(zone_id=ZONE, hostnames=[], mtls_certificate_id=uploaded.id)
assert mtls.delete(uploaded.id, account_id=ACCOUNT).id == uploaded.id
try:
    mtls.get(uploaded.id, account_id=ACCOUNT)
    raise AssertionError("a deleted CA was found")
except NotFoundError as error:
    assert error.status_code == 404
try:
    associations.update(zone_id=ZONE, hostnames=[byo_host], mtls_certificate_id=uploaded.id)
    raise AssertionError("a deleted CA was associated")
except BadRequestError as error:
    assert error.status_code == 400

print("official SDK: all operations passed")
