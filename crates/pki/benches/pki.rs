//! Criterion micro-benchmarks: `cargo bench -p pki`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use pki::{CaSigner, LeafRequest, RevocationReason, RevokedEntry, SerialNumber, VerifiedCsr};
use time::{Duration, OffsetDateTime};

use test_support::RSA_2048_CSR;

fn p256_csr() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "bench-device");
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn ca() -> CaSigner {
    let now = OffsetDateTime::now_utc();
    let ca = pki::generate_managed_ca("bench CA", now, Duration::days(3650), Default::default())
        .unwrap();
    CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der).unwrap()
}

fn csr_parse_and_verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("csr_parse_and_verify");
    for (name, csr) in [("p256", p256_csr()), ("rsa2048", RSA_2048_CSR.to_string())] {
        group.bench_with_input(BenchmarkId::from_parameter(name), &csr, |b, csr| {
            b.iter(|| VerifiedCsr::parse_pem(black_box(csr)).unwrap());
        });
    }
    group.finish();
}

fn issue(c: &mut Criterion) {
    let signer = ca();
    let csr = VerifiedCsr::parse_pem(&p256_csr()).unwrap();
    c.bench_function("issue_leaf_p256_ca", |b| {
        b.iter(|| {
            let request = LeafRequest {
                csr: &csr,
                serial: SerialNumber::random(),
                now: OffsetDateTime::now_utc(),
                validity_days: 30,
                publication: None,
            };
            pki::issue_leaf(&signer, black_box(request)).unwrap()
        });
    });
}

fn crl_build(c: &mut Criterion) {
    let signer = ca();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut group = c.benchmark_group("crl_build");
    group.sample_size(10);
    for entries in [1_000usize, 100_000] {
        let revoked: Vec<RevokedEntry> = (0..entries)
            .map(|_| RevokedEntry {
                serial: SerialNumber::random(),
                revoked_at: now,
                reason: RevocationReason::KeyCompromise,
            })
            .collect();
        group.bench_with_input(
            BenchmarkId::from_parameter(entries),
            &revoked,
            |b, revoked| {
                b.iter(|| {
                    pki::sign_crl(&signer, 2, now, now + Duration::days(1), black_box(revoked))
                        .unwrap()
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, csr_parse_and_verify, issue, crl_build);
criterion_main!(benches);
