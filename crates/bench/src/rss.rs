//! Resident-set figures from /proc (Linux); 0 where /proc is unavailable.

/// This process's peak resident set size so far (VmHWM), in KiB.
pub(crate) fn peak_kib() -> u64 {
    status_field("self", "VmHWM:")
}

/// Start this process's peak (VmHWM) over from its current resident size (Linux `clear_refs`
/// 5), so a later [`peak_kib`] covers only what ran in between.
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
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

/// Summed over `pids` (a server with worker processes): (current VmRSS, peak VmHWM) in KiB.
pub(crate) fn of_processes(pids: &[u32]) -> (u64, u64) {
    pids.iter()
        .map(|&pid| of_process(pid))
        .fold((0, 0), |(current, peak), (c, p)| (current + c, peak + p))
}

/// `server_rss idle=… current=… peak=…` for `pids` (nothing when none are given).
pub(crate) fn processes_line(pids: &[u32], idle_kib: u64) -> String {
    if pids.is_empty() {
        return String::new();
    }
    let (current, peak) = of_processes(pids);
    format!(
        "server_rss idle={} MiB current={} MiB peak={} MiB",
        idle_kib / 1024,
        current / 1024,
        peak / 1024
    )
}
