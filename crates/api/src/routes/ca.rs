//! Public revocation endpoints, like any CA's publication point: no token needed.
//!
//! `GET /ca/{ca_id}.pem|.crt|.der|.cer` the CA certificate, `GET /ca/{ca_id}/chain.pem` it with the
//! chain up to the root, `GET /ca/{ca_id}/crl[.pem]` its newest CRL,
//! `POST /ca/{ca_id}/ocsp` and `GET /ca/{ca_id}/ocsp/{base64 request}` its OCSP responder.
//! OCSP problems are answered in OCSP (malformedRequest, unauthorized, …), never as HTTP errors.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use time::OffsetDateTime;

use authority::{CaId, OcspAnswer, PublishedCrl};

use crate::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::extract::PathParams;

const PEM: &str = "application/x-pem-file";
const CERT_DER: &str = "application/pkix-cert";
const CRL_DER: &str = "application/pkix-crl";
const OCSP_RESPONSE: &str = "application/ocsp-response";

fn unknown_ca() -> ApiError {
    ApiError::new(ErrorCode::NoRoute, "no such certificate authority")
}

/// `GET /ca/{ca_id}.pem` (PEM) and `GET /ca/{ca_id}.crt` / `.der` / `.cer` (DER).
pub(crate) async fn certificate(
    State(state): State<AppState>,
    PathParams(file): PathParams<String>,
) -> Result<Response, ApiError> {
    let (ca_id, pem) = match file.rsplit_once('.') {
        Some((id, "pem")) => (id, true),
        Some((id, "crt" | "der" | "cer")) => (id, false),
        _ => return Err(unknown_ca()),
    };
    let ca_id = CaId::parse(ca_id).ok_or_else(unknown_ca)?;
    let ca = state
        .authority
        .ca_certificate(&ca_id)
        .await?
        .ok_or_else(unknown_ca)?;
    Ok(if pem {
        binary(PEM, ca.certificate_pem.into(), None)
    } else {
        binary(CERT_DER, ca.certificate_der.into(), None)
    })
}

/// `GET /ca/{ca_id}/chain.pem`: the CA certificate and the chain above it up to the root (for a
/// CA imported under the user's own root; a self-signed CA's chain is itself).
pub(crate) async fn chain(
    State(state): State<AppState>,
    PathParams(ca_id): PathParams<String>,
) -> Result<Response, ApiError> {
    let ca_id = CaId::parse(&ca_id).ok_or_else(unknown_ca)?;
    let ca = state
        .authority
        .ca_certificate(&ca_id)
        .await?
        .ok_or_else(unknown_ca)?;
    Ok(binary(
        PEM,
        format!("{}{}", ca.certificate_pem, ca.chain_pem).into(),
        None,
    ))
}

/// `GET /ca/{ca_id}/crl`: the newest CRL, DER.
pub(crate) async fn crl(
    State(state): State<AppState>,
    PathParams(ca_id): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let crl = latest_crl(&state, &ca_id).await?;
    let etag = format!("\"crl-{}\"", crl.crl_number());
    Ok(revalidated(&headers, etag, || {
        binary(
            CRL_DER,
            Bytes::from_owner(Shared(crl, PublishedCrl::der)),
            None,
        )
    }))
}

/// `GET /ca/{ca_id}/crl.pem`: the newest CRL, PEM.
pub(crate) async fn crl_pem(
    State(state): State<AppState>,
    PathParams(ca_id): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let crl = latest_crl(&state, &ca_id).await?;
    let etag = format!("\"crl-{}-pem\"", crl.crl_number());
    Ok(revalidated(&headers, etag, || {
        let pem = Bytes::from_owner(Shared(crl, |crl: &PublishedCrl| crl.pem().as_bytes()));
        binary(PEM, pem, None)
    }))
}

/// A CRL may be stored by caches but must be revalidated on every use (`no-cache`, ETag = its
/// number): a CRL cached until its nextUpdate (a day) would hide a revocation for that long. A
/// client or cache holding the current one gets `304 Not Modified`.
fn revalidated(headers: &HeaderMap, etag: String, answer: impl FnOnce() -> Response) -> Response {
    let current = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == etag || tag.trim() == "*");
    let mut response = if current {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        answer()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache, no-transform"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

async fn latest_crl(state: &AppState, ca_id: &str) -> Result<Arc<PublishedCrl>, ApiError> {
    let ca_id = CaId::parse(ca_id).ok_or_else(unknown_ca)?;
    state
        .authority
        .latest_crl(&ca_id)
        .await?
        .ok_or_else(unknown_ca)
}

/// The OCSP answer for a request to the CA named `ca_id` (an id that cannot name a CA is one
/// this responder does not know).
async fn answer(state: &AppState, ca_id: &str, request: &[u8]) -> OcspAnswer {
    match CaId::parse(ca_id) {
        Some(ca_id) => state.authority.ocsp_answer(&ca_id, request).await,
        None => OcspAnswer::unauthorized(),
    }
}

/// `POST /ca/{ca_id}/ocsp` with a DER OCSPRequest body. Whatever goes wrong, the answer is an
/// OCSP response (RFC 6960 §2.3), never a JSON error: a CA id that does not decode names no CA.
pub(crate) async fn ocsp_post(
    State(state): State<AppState>,
    ca_id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let ca_id = ca_id.map(|Path(id)| id).unwrap_or_default();
    let body = body.unwrap_or_default();
    ocsp_response(answer(&state, &ca_id, &body).await, false)
}

/// `GET /ca/{ca_id}/ocsp/{request}`: the DER request in base64 (URL-safe or standard, padded
/// or not), as RFC 6960 Appendix A and RFC 5019 describe.
pub(crate) async fn ocsp_get(
    State(state): State<AppState>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    let (ca_id, encoded) = params.map(|Path(p)| p).unwrap_or_default();
    let decoded = url_safe
        .decode(encoded.trim())
        .or_else(|_| standard.decode(encoded.trim()))
        .unwrap_or_default();
    ocsp_response(answer(&state, &ca_id, &decoded).await, true)
}

/// `GET /ca/{ca_id}/ocsp/`: an empty request is still an OCSP question (malformedRequest).
pub(crate) async fn ocsp_get_empty(
    State(state): State<AppState>,
    ca_id: Result<Path<String>, PathRejection>,
) -> Response {
    let ca_id = ca_id.map(|Path(id)| id).unwrap_or_default();
    ocsp_response(answer(&state, &ca_id, &[]).await, true)
}

/// `/ca/{ca_id}/ocsp` and everything below it.
pub(crate) fn is_ocsp_path(path: &str) -> bool {
    path.strip_prefix("/ca/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, rest)| rest == "ocsp" || rest.starts_with("ocsp/"))
}

pub(crate) fn ocsp_response(answer: OcspAnswer, cacheable: bool) -> Response {
    let expires = (cacheable && !answer.unique)
        .then_some(answer.next_update)
        .flatten();
    let der = Bytes::from_owner(Shared(answer.der, |der: &Vec<u8>| der.as_slice()));
    let mut response = binary(OCSP_RESPONSE, der, expires);
    if answer.unique {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Bytes inside a shared record, served without copying them (a CRL can be tens of MB).
struct Shared<T>(Arc<T>, fn(&T) -> &[u8]);

impl<T> AsRef<[u8]> for Shared<T> {
    fn as_ref(&self) -> &[u8] {
        (self.1)(&self.0)
    }
}

/// A binary answer; with `expires`, cacheable by intermediaries until then (RFC 5019 §6).
fn binary(content_type: &'static str, body: Bytes, expires: Option<OffsetDateTime>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(expires) = expires {
        let max_age = (expires - OffsetDateTime::now_utc()).whole_seconds().max(0);
        if let Ok(value) =
            HeaderValue::from_str(&format!("public, max-age={max_age}, no-transform"))
        {
            headers.insert(header::CACHE_CONTROL, value);
        }
    }
    response
}
