// The PKI.js bundle the dashboard's key generation (assets/keygen.js) loads lazily: only the
// classes it uses, so the bundle stays small. Built by scripts/vendor-js with esbuild.
export {
  AttributeTypeAndValue,
  Attribute,
  AuthenticatedSafe,
  CertBag,
  Certificate,
  CertificationRequest,
  PFX,
  PKCS8ShroudedKeyBag,
  PrivateKeyInfo,
  RelativeDistinguishedNames,
  SafeBag,
  SafeContents,
  getCrypto,
} from "pkijs";
export { BmpString, OctetString, PrintableString, Sequence, Set, Utf8String } from "asn1js";
