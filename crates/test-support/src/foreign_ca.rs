//! CAs that are not clientca's: the corporate roots and intermediates a user uploads through
//! `mtls_certificates`, and client certificates they issue.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

pub struct ForeignCa {
    /// The CA certificate as PEM.
    pub pem: String,
    /// Its private key, PKCS#8 PEM (for importing it as an issuing CA).
    pub key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(common_name: &str, from_days: i64, to_days: i64) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.not_before = now + Duration::days(from_days);
    params.not_after = now + Duration::days(to_days);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

impl ForeignCa {
    /// A self-signed P-256 root valid from yesterday for ten years.
    pub fn root(common_name: &str) -> Self {
        Self::self_signed(ca_params(common_name, -1, 3650))
    }

    /// A self-signed root that expired yesterday.
    pub fn expired_root(common_name: &str) -> Self {
        Self::self_signed(ca_params(common_name, -30, -1))
    }

    fn self_signed(params: CertificateParams) -> Self {
        let key = KeyPair::generate().expect("P-256 key");
        let pem = params.self_signed(&key).expect("root").pem();
        Self {
            pem,
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An intermediate CA under this one, valid for a year.
    pub fn intermediate(&self, common_name: &str) -> Self {
        let key = KeyPair::generate().expect("P-256 key");
        let mut params = ca_params(common_name, -1, 365);
        params.use_authority_key_identifier_extension = true;
        let pem = params
            .signed_by(&key, &self.issuer)
            .expect("intermediate")
            .pem();
        Self {
            pem,
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// Sign a CA's CSR (from `clientca ca csr`) as an intermediate under this CA, valid a year.
    pub fn sign_ca_csr(&self, csr_pem: &str) -> String {
        let mut csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem).expect("a CSR");
        let now = OffsetDateTime::now_utc();
        csr.params.not_before = now - Duration::days(1);
        csr.params.not_after = now + Duration::days(365);
        csr.params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        csr.params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        csr.params.use_authority_key_identifier_extension = true;
        csr.signed_by(&self.issuer).expect("signed").pem()
    }

    /// A client certificate (clientAuth) issued by this CA: (certificate PEM, PKCS#8 key PEM).
    pub fn client(&self, common_name: &str) -> (String, String) {
        self.leaf(
            CertificateParams::default(),
            common_name,
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// A TLS server certificate (serverAuth) for `names` (DNS names or IP addresses), issued by
    /// this CA: (certificate PEM, PKCS#8 key PEM).
    pub fn server(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let params = CertificateParams::new(names.clone()).expect("valid server names");
        self.leaf(params, &names[0], ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn leaf(
        &self,
        mut params: CertificateParams,
        common_name: &str,
        purpose: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let key = KeyPair::generate().expect("P-256 key");
        let now = OffsetDateTime::now_utc();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(30);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![purpose];
        params.use_authority_key_identifier_extension = true;
        let certificate = params.signed_by(&key, &self.issuer).expect("leaf");
        (certificate.pem(), key.serialize_pem())
    }
}
