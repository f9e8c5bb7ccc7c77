//! Resident-set figures from /proc (Linux); 0 where /proc is unavailable.

/// This process's peak resident set size so far (VmHWM), in KiB.
pub(crate) fn peak_kib() -> u64 {
    status_field("self", "VmHWM:")
}

/// Resident memory of process `pid` in KiB: (current VmRSS, peak VmHWM).
pub(crate) fn of_process(pid: u32) -> (u64, u64) {
    let pid = pid.to_string();
    (status_field(&pid, "VmRSS:"), status_field(&pid, "VmHWM:"))
}

/// A KiB field of `/proc/<process>/status`.
fn status_field(process: &str, name: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{process}/status"))
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
