// Drive clientca with the official Cloudflare TypeScript SDK (npm `cloudflare`, pinned in
// package-lock.json), unchanged. Run by crates/clientca/tests/api/sdk.rs, which passes the server,
// a token, the zone and account, CSRs and a CA certificate in CLIENTCA_* variables. Retries off:
// a shape the SDK cannot take, or an unexpected status, fails here.
import assert from "node:assert/strict";

import Cloudflare from "cloudflare";

const env = process.env;
const client = new Cloudflare({
  apiToken: env.CLIENTCA_TOKEN,
  baseURL: env.CLIENTCA_BASE_URL,
  maxRetries: 0,
});
const zone_id = env.CLIENTCA_ZONE;
const account_id = env.CLIENTCA_ACCOUNT;
const certs = client.clientCertificates;

// Create, details, and every field the SDK types.
const created = await certs.create({ zone_id, csr: env.CLIENTCA_CSR, validity_days: 90 });
assert.equal(created.status, "active");
assert.equal(created.validity_days, 90);
assert.equal(created.common_name, "ts-client");
assert.match(created.certificate, /^-----BEGIN CERTIFICATE-----/);
assert.match(created.fingerprint_sha256, /^[0-9a-f]{64}$/);
assert.ok(created.certificate_authority.id && created.certificate_authority.name);
assert.deepEqual(await certs.get(created.id, { zone_id }), created);

// Auto-pagination walks the pages (per_page is clamped to at least 5).
for (const csr of env.CLIENTCA_MORE_CSRS.split("\n--\n")) {
  await certs.create({ zone_id, csr, validity_days: 1 });
}
const listed = [];
for await (const certificate of certs.list({ zone_id, per_page: 5 })) {
  listed.push(certificate.id);
}
assert.equal(new Set(listed).size, listed.length);
assert.ok(listed.length >= 7 && listed.includes(created.id), `${listed.length} listed`);

// Revoke, undo inside the publication window, filter by status.
assert.equal((await certs.delete(created.id, { zone_id })).status, "pending_revocation");
assert.equal((await certs.edit(created.id, { zone_id })).status, "pending_reactivation");
assert.equal((await certs.delete(created.id, { zone_id })).status, "pending_revocation");
const pending = [];
for await (const certificate of certs.list({ zone_id, status: "pending_revocation" })) {
  pending.push(certificate.id);
}
assert.deepEqual(pending, [created.id]);

// Errors arrive as the SDK's typed errors.
await assert.rejects(
  certs.get("00000000-0000-0000-0000-000000000000", { zone_id }),
  (error) => error instanceof Cloudflare.NotFoundError,
);
await assert.rejects(
  certs.create({ zone_id, csr: "not a CSR", validity_days: 10 }),
  (error) => error instanceof Cloudflare.BadRequestError,
);

// Bring your own CA: upload, require it on a hostname, refused deletion while associated.
const mtls = client.mtlsCertificates;
const uploaded = await mtls.create({
  account_id,
  ca: true,
  certificates: env.CLIENTCA_CA_PEM,
  name: "ts-corporate",
});
assert.equal(uploaded.ca, true);
assert.equal(uploaded.name, "ts-corporate");
assert.equal(uploaded.certificates, env.CLIENTCA_CA_PEM);
assert.ok(uploaded.expires_on && uploaded.uploaded_on && uploaded.updated_at);
assert.equal((await mtls.get(uploaded.id, { account_id })).id, uploaded.id);
const uploads = [];
for await (const certificate of mtls.list({ account_id })) {
  uploads.push(certificate.id);
}
assert.deepEqual(uploads, [uploaded.id]);

const hostnames = client.certificateAuthorities.hostnameAssociations;
const host = `ts.${env.CLIENTCA_ZONE_NAME}`;
const updated = await hostnames.update({
  zone_id,
  hostnames: [host],
  mtls_certificate_id: uploaded.id,
});
assert.deepEqual(updated.hostnames, [host]);
assert.deepEqual(
  (await hostnames.get({ zone_id, mtls_certificate_id: uploaded.id })).hostnames,
  [host],
);
const used = [];
for await (const association of mtls.associations.get(uploaded.id, { account_id })) {
  used.push([association.service, association.status]);
}
assert.deepEqual(used, [["gateway", "active"]]);
await assert.rejects(
  mtls.delete(uploaded.id, { account_id }),
  (error) => error instanceof Cloudflare.BadRequestError && error.message.includes(host),
);
await hostnames.update({ zone_id, hostnames: [], mtls_certificate_id: uploaded.id });
assert.equal((await mtls.delete(uploaded.id, { account_id })).id, uploaded.id);
await assert.rejects(
  mtls.get(uploaded.id, { account_id }),
  (error) => error instanceof Cloudflare.NotFoundError,
);

console.log("official TypeScript SDK: all operations passed");
