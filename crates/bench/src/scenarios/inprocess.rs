//! `inprocess`: the issuance ceiling — CSR parse + verify + leaf signing on one thread.

use std::time::{Duration, Instant};

use pki::{LeafRequest, SerialNumber, VerifiedCsr};

use super::common::{KeyType, csr_for, now};

#[derive(Debug, clap::Args)]
pub(crate) struct InprocessArgs {
    #[arg(long, value_enum, default_value_t = KeyType::P256)]
    key: KeyType,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
}

pub(crate) fn run(InprocessArgs { key, seconds }: InprocessArgs) -> anyhow::Result<()> {
    let ca = pki::generate_managed_ca(
        "bench CA",
        now(),
        time::Duration::days(3650),
        Default::default(),
    )?;
    let signer = pki::CaSigner::from_parts(&ca.certificate_der, &ca.private_key_pkcs8_der)?;
    let csr = csr_for(key);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut issued = 0u64;
    while Instant::now() < deadline {
        let verified = VerifiedCsr::parse_pem(&csr)?;
        let request = LeafRequest {
            csr: &verified,
            serial: SerialNumber::random(),
            now: now(),
            validity_days: 30,
            publication: None,
        };
        std::hint::black_box(pki::issue_leaf(&signer, request)?);
        issued += 1;
    }
    println!(
        "inprocess key={key:?} threads=1 issued={issued} rate={:.0}/s (CSR parse + verify + sign, P-256 CA)",
        issued as f64 / started.elapsed().as_secs_f64()
    );
    Ok(())
}
