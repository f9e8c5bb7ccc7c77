//! Resident-set figures from /proc (Linux).

/// The process's peak resident set size so far (VmHWM), in KiB; 0 where /proc is unavailable.
pub fn peak_kib() -> u64 {
    status_field("VmHWM:")
}

/// The process's current resident set size (VmRSS), in KiB.
#[allow(dead_code)]
pub fn current_kib() -> u64 {
    status_field("VmRSS:")
}

fn status_field(name: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}
