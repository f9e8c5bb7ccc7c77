// clientca dashboard: a key pair generated in this tab (WebCrypto), a CSR for it, and the
// issued certificate bundled with the key into a password-protected .p12 — the private key never
// leaves the browser. PKI.js (assets/vendor/pkijs.bundle.js, served as /ui/assets/pkijs.bundle.js) is loaded only when a key is created.
// Nothing is written to localStorage, sessionStorage or IndexedDB.

const panel = document.querySelector("[data-keygen]");
if (panel) setUp(panel);

const ALGORITHMS = {
  "P-256": { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" },
  "P-384": { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" },
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, hash: "SHA-256" },
  "RSA-3072": { name: "RSASSA-PKCS1-v1_5", modulusLength: 3072, hash: "SHA-256" },
};

// OIDs of the subject attributes, and of the PKCS#9/#12 pieces a .p12 is made of.
const OID = {
  cn: "2.5.4.3", c: "2.5.4.6", l: "2.5.4.7", st: "2.5.4.8", o: "2.5.4.10", ou: "2.5.4.11",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  keyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
};

// OpenSSL 3's `pkcs12 -export` algorithms: AES-256-CBC under PBKDF2-HMAC-SHA256, a SHA-256 MAC.
// Iterations: 100,000 rather than OpenSSL's 2,048, so a lost file resists password guessing
// longer; every reader tested (OpenSSL, NSS, Java, Python) takes it.
const ITERATIONS = 100_000;
const PBE = { contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 }, hmacHashAlgorithm: "SHA-256", iterationCount: ITERATIONS };

function setUp(panel) {
  const tabs = document.querySelector("[data-tabs]");
  const csrPanel = document.getElementById("panel-csr");
  const select = (which) => {
    for (const tab of tabs.querySelectorAll("[role=tab]")) {
      const selected = tab.getAttribute("aria-controls") === `panel-${which}`;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
    panel.hidden = which !== "generate";
    csrPanel.hidden = which !== "csr";
  };
  tabs.hidden = false;
  tabs.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) select(tab.getAttribute("aria-controls").replace("panel-", ""));
  });
  tabs.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = panel.hidden ? "generate" : "csr";
    select(next);
    document.querySelector(`[aria-controls=panel-${next}]`).focus();
  });
  select(panel.dataset.start === "csr" ? "csr" : "generate");

  const form = document.getElementById("keygen-form");
  if (!window.isSecureContext || !globalThis.crypto || !crypto.subtle) {
    panel.querySelector("[data-insecure]").hidden = false;
    form.hidden = true;
    return;
  }
  document.getElementById("kg-generate-password").addEventListener("click", () => {
    const field = document.getElementById("kg-password");
    field.value = randomPassword();
    field.focus();
    field.select();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    create(panel, form).catch((error) => fail(`${error.message || error}`));
  });
}

function randomPassword() {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  // 56 symbols: reject bytes ≥ 224 so every symbol is equally likely.
  let out = "";
  for (const byte of bytes) if (byte < 224) out += alphabet[byte % 56];
  return out.length >= 16 ? out : randomPassword();
}

function fieldError(id, message) {
  const element = document.getElementById(id);
  const input = document.querySelector(`[aria-describedby~="${id}"]`);
  element.textContent = message || "";
  element.hidden = !message;
  if (input) input.toggleAttribute("aria-invalid", Boolean(message));
  if (input && message) input.setAttribute("aria-invalid", "true");
}

function fail(message) {
  fieldError("kg-error", message);
  progress("");
  document.getElementById("kg-submit").disabled = false;
}

function progress(text) {
  document.getElementById("kg-progress").textContent = text;
}

function validate(values) {
  let ok = true;
  const check = (id, message) => { fieldError(id, message); if (message) ok = false; };
  check("kg-cn-error", values.cn ? "" : "A common name is required.");
  check("kg-days-error", /^\d+$/.test(values.days) && Number(values.days) > 0 ? "" : "Validity must be a whole number of days.");
  check("kg-password-error", values.password.length >= 8 ? "" : "The password needs at least 8 characters.");
  if (values.c && !/^[A-Za-z]{2}$/.test(values.c)) { fieldError("kg-error", "The country is two letters, such as DE or US."); ok = false; }
  return ok;
}

async function create(panel, form) {
  const data = new FormData(form);
  const values = Object.fromEntries([...data.entries()].map(([k, v]) => [k, String(v).trim()]));
  values.days = values.validity_days;
  values.password = String(data.get("password"));
  fieldError("kg-error", "");
  if (!validate(values)) {
    const invalid = form.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
    return;
  }
  document.getElementById("kg-submit").disabled = true;
  progress("Loading…");
  // The same release's bundle (this module's own ?v=, so a cached old one is not reused).
  const pki = await import(`./pkijs.bundle.js${new URL(import.meta.url).search}`);
  const algorithm = ALGORITHMS[values.algorithm] || ALGORITHMS["P-256"];
  progress("Generating the key…");
  const params = algorithm.name === "ECDSA"
    ? { name: "ECDSA", namedCurve: algorithm.namedCurve }
    : { name: algorithm.name, modulusLength: algorithm.modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: algorithm.hash };
  const keys = await crypto.subtle.generateKey(params, true, ["sign", "verify"]);

  progress("Signing the request…");
  const csr = new pki.CertificationRequest();
  csr.version = 0;
  // PKCS#10 requires the attributes field even when empty; PKI.js omits it unless set.
  csr.attributes = [];
  const attributes = [];
  for (const name of ["c", "st", "l", "o", "ou", "cn"]) {
    if (!values[name]) continue;
    const value = name === "c"
      ? new pki.PrintableString({ value: values.c.toUpperCase() })
      : new pki.Utf8String({ value: values[name] });
    attributes.push(new pki.AttributeTypeAndValue({ type: OID[name], value }));
  }
  // One attribute per RDN, as OpenSSL writes them: PKI.js would put them all in one SET (a
  // multi-valued RDN), so the Name is encoded here and handed over ready.
  const name = new pki.Sequence({ value: attributes.map((a) => new pki.Set({ value: [a.toSchema()] })) });
  csr.subject = new pki.RelativeDistinguishedNames({ typesAndValues: attributes, valueBeforeDecode: name.toBER(false) });
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey);
  await csr.sign(keys.privateKey, algorithm.hash);
  const csrPem = pem("CERTIFICATE REQUEST", csr.toSchema().toBER(false));

  progress("Issuing…");
  // From here on a certificate may exist for this key: leaving would lose the key.
  const files = {};
  const guard = (event) => {
    if (files.p12?.downloaded || files.key?.downloaded) return;
    event.preventDefault();
    event.returnValue = "";
  };
  window.addEventListener("beforeunload", guard);
  const body = new URLSearchParams({ csrf: panel.dataset.csrf, csr: csrPem, validity_days: values.days });
  const response = await fetch(`/ui/zones/${panel.dataset.zone}/certificates`, {
    method: "POST",
    headers: { accept: "application/json" },
    body,
    credentials: "same-origin",
    redirect: "error",
  });
  const json = (response.headers.get("content-type") || "").startsWith("application/json");
  const answer = json ? await response.json() : { message: `the server answered ${response.status}` };
  if (!response.ok) {
    window.removeEventListener("beforeunload", guard);
    const code = answer.code ? ` (error ${answer.code})` : "";
    throw new Error(`${answer.message}${code}`);
  }

  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  const stem = values.cn.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+|\.+$/g, "").slice(0, 64) || "certificate";
  files.key = file(`${stem}.key`, "application/x-pem-file", pem("PRIVATE KEY", pkcs8));
  files.certificate = file(`${stem}.pem`, "application/x-pem-file", answer.certificate);
  files.chain = file(`${stem}-chain.pem`, "application/x-pem-file", answer.chain);
  try {
    progress("Packing the .p12…");
    const p12 = await pkcs12(pki, pkcs8, derOf(answer.certificate)[0], derOf(answer.chain), values.cn, values.password);
    files.p12 = file(`${stem}.p12`, "application/x-pkcs12", p12);
  } catch (error) {
    // The certificate exists: still hand out the key and certificate as PEM.
    fieldError("kg-error", `The .p12 could not be made (${error.message || error}); download the key and certificate as PEM instead.`);
  }
  document.getElementById("kg-password").value = "";
  showResult(files, answer.url, stem);
  form.hidden = !files.p12;
  progress("");
}

async function pkcs12(pki, pkcs8, leafDer, chainDers, friendlyName, password) {
  const passwordBytes = new TextEncoder().encode(password).buffer;
  const keyId = await crypto.subtle.digest("SHA-1", leafDer);
  const attributes = (withName) => [
    ...(withName ? [new pki.Attribute({ type: OID.friendlyName, values: [new pki.BmpString({ value: friendlyName })] })] : []),
    new pki.Attribute({ type: OID.localKeyId, values: [new pki.OctetString({ valueHex: keyId })] }),
  ];
  const certBag = (der, withAttributes) => new pki.SafeBag({
    bagId: OID.certBag,
    bagValue: new pki.CertBag({
      certId: OID.x509Certificate,
      certValue: new pki.OctetString({ valueHex: der }),
      parsedValue: pki.Certificate.fromBER(der),
    }),
    ...(withAttributes ? { bagAttributes: attributes(true) } : {}),
  });
  const keyBag = new pki.PKCS8ShroudedKeyBag({ parsedValue: pki.PrivateKeyInfo.fromBER(pkcs8) });
  await keyBag.makeInternalValues({ password: passwordBytes, ...PBE });
  const pfx = new pki.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pki.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            { privacyMode: 1, value: new pki.SafeContents({ safeBags: [certBag(leafDer, true), ...chainDers.map((der) => certBag(der, false))] }) },
            { privacyMode: 0, value: new pki.SafeContents({ safeBags: [new pki.SafeBag({ bagId: OID.keyBag, bagValue: keyBag, bagAttributes: attributes(true) })] }) },
          ],
        },
      }),
    },
  });
  await pfx.parsedValue.authenticatedSafe.makeInternalValues({ safeContents: [{ password: passwordBytes, ...PBE }, {}] });
  await pfx.makeInternalValues({ password: passwordBytes, iterations: ITERATIONS, pbkdf2HashAlgorithm: "SHA-256", hmacHashAlgorithm: "SHA-256" });
  return pfx.toSchema().toBER(false);
}

function pem(label, der) {
  const bytes = new Uint8Array(der);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) || [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function derOf(pemText) {
  const blocks = pemText.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) || [];
  return blocks.map((block) => {
    const base64 = block.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
  });
}

function file(name, type, content) {
  return { name, type, content, downloaded: false };
}

function showResult(files, url, stem) {
  const result = document.getElementById("keygen-result");
  result.hidden = false;
  document.getElementById("kg-details").href = url;
  // Piped, so the key is never written unencrypted to a file; both commands ask for passwords.
  document.getElementById("kg-legacy").textContent =
    `openssl pkcs12 -in ${stem}.p12 -nodes | openssl pkcs12 -export -legacy -name "${stem}" -out ${stem}-legacy.p12`;
  for (const button of result.querySelectorAll("[data-download]")) {
    button.hidden = !files[button.dataset.download];
  }
  result.addEventListener("click", (event) => {
    const button = event.target.closest("[data-download]");
    if (!button) return;
    const chosen = files[button.dataset.download];
    if (!chosen) return;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([chosen.content], { type: chosen.type }));
    link.download = chosen.name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    chosen.downloaded = true;
  });
  document.getElementById("kg-result-title").focus();
}
