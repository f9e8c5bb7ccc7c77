//! A zone at a glance: how many certificates are in each state, its CA, its hostnames.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use authority::{CertificateStatus, Permission};

use crate::AppState;
use crate::error::{PageError, render};
use crate::format;
use crate::pages::{Layout, zone};
use crate::session::Viewer;

struct StatusCount {
    status: &'static str,
    label: &'static str,
    count: u64,
}

struct Expiring {
    days: i64,
    count: u64,
}

/// Certificates issued per day over the last [`CHART_DAYS`] days, as SVG bars.
struct Chart {
    bars: Vec<Bar>,
    total: u64,
    busiest: u64,
    from: String,
    to: String,
    /// The zone issued more in the window than the overview reads: the figures are lower bounds.
    at_least: bool,
}

struct Bar {
    x: i64,
    y: i64,
    height: i64,
    label: String,
}

const CHART_DAYS: i64 = 30;
/// The chart's drawing area in SVG units: one slot per day, bars up to this tall.
const SLOT_WIDTH: i64 = 20;
const BAR_WIDTH: i64 = 14;
const CHART_HEIGHT: i64 = 100;

fn chart(issued: &[time::OffsetDateTime], today: time::Date) -> Chart {
    let first = today - time::Duration::days(CHART_DAYS - 1);
    let mut per_day = vec![0u64; usize::try_from(CHART_DAYS).unwrap_or(30)];
    for at in issued {
        let offset = (at.date() - first).whole_days();
        if let Some(slot) = usize::try_from(offset)
            .ok()
            .and_then(|i| per_day.get_mut(i))
        {
            *slot += 1;
        }
    }
    let busiest = per_day.iter().copied().max().unwrap_or(0);
    let bars = per_day
        .iter()
        .zip(0i64..)
        .map(|(&count, day)| {
            // Scaled to the busiest day; a day with any certificate shows at least a sliver.
            let scaled = (count * CHART_HEIGHT.unsigned_abs())
                .checked_div(busiest)
                .map_or(0, |h| {
                    i64::try_from(h).unwrap_or(0).max(i64::from(count > 0))
                });
            let date = first + time::Duration::days(day);
            Bar {
                x: day * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) / 2,
                y: CHART_HEIGHT - scaled,
                height: scaled,
                label: format!("{date}: {count}"),
            }
        })
        .collect();
    let oldest_read_is_in_window = issued.last().is_some_and(|at| at.date() >= first);
    Chart {
        bars,
        total: per_day.iter().sum(),
        busiest,
        from: first.to_string(),
        to: today.to_string(),
        at_least: issued.len() >= authority::RECENT_FOR_OVERVIEW as usize
            && oldest_read_is_in_window,
    }
}

struct CaCard {
    id: String,
    name: String,
    fingerprint: String,
    not_after: String,
    expiry: format::Expiry,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    zone_id: String,
    zone_name: String,
    counts: Vec<StatusCount>,
    total: u64,
    ca: Option<CaCard>,
    expiring: Vec<Expiring>,
    chart: Chart,
    hostnames: Vec<String>,
    can_edit: bool,
}

pub(crate) async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw_zone): Path<String>,
) -> Result<Response, PageError> {
    let zone = zone(&state, &viewer, &raw_zone, Permission::Read).await?;
    let authority = &state.authority;
    let counts: Vec<StatusCount> = authority
        .certificate_counts(&zone)
        .await?
        .into_iter()
        .map(|(status, count)| StatusCount {
            status: status.as_str(),
            label: format::status_label(status),
            count,
        })
        .collect();
    let now = time::OffsetDateTime::now_utc();
    let ca = authority
        .existing_ca(&zone.account_id)
        .await?
        .map(|ca| CaCard {
            id: ca.id.to_string(),
            fingerprint: authority::fingerprint_sha256(&ca.certificate_der),
            not_after: format::date(ca.not_after),
            expiry: format::expiry(ca.not_after, now),
            name: ca.name,
        });
    let hostnames = authority.hostname_associations(&zone, None).await?;
    let activity = authority.zone_activity(&zone).await?;
    let expiring = authority::ZoneActivity::EXPIRY_WINDOWS_DAYS
        .into_iter()
        .zip(activity.expiring_within)
        .map(|(days, count)| Expiring { days, count })
        .collect();
    debug_assert_eq!(counts.len(), CertificateStatus::ALL.len());
    Ok(render(&OverviewPage {
        layout: Layout::for_viewer(zone.name.clone(), &viewer),
        total: counts.iter().map(|c| c.count).sum(),
        counts,
        ca,
        expiring,
        chart: chart(&activity.recent_issued_on, now.date()),
        hostnames,
        can_edit: viewer.session.can_edit(),
        zone_id: zone.id.to_string(),
        zone_name: zone.name,
    }))
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn the_chart_counts_days_in_its_window_and_scales_to_the_busiest() {
        let today = date!(2026 - 12 - 04);
        let issued = [
            datetime!(2026-12-04 10:00 UTC),
            datetime!(2026-12-04 09:00 UTC),
            datetime!(2026-12-03 23:59 UTC),
            datetime!(2026-11-05 00:00 UTC),
            datetime!(2026-11-04 23:59 UTC),
        ];
        let chart = chart(&issued, today);
        assert_eq!(chart.bars.len(), 30);
        assert_eq!(
            (chart.total, chart.busiest),
            (4, 2),
            "the day before the window is left out"
        );
        assert_eq!(
            (chart.from.as_str(), chart.to.as_str()),
            ("2026-11-05", "2026-12-04")
        );
        let last = &chart.bars[29];
        assert_eq!(
            (last.height, last.y, last.label.as_str()),
            (100, 0, "2026-12-04: 2")
        );
        assert_eq!(chart.bars[28].height, 50);
        assert_eq!(chart.bars[0].height, 50);
        assert_eq!(chart.bars[1].height, 0);
        assert!(!chart.at_least);
    }
}
