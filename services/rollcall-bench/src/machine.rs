//! The machine the figures were measured on: cores, memory, CPU model and kernel.

use serde_json::{Value, json};

/// Cores, memory, CPU model and kernel, read from `/proc`.
pub fn describe() -> Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_kib = field(&read("/proc/meminfo"), "MemTotal")
        .and_then(|v| kib(&v))
        .unwrap_or(0);
    let cpu = field(&read("/proc/cpuinfo"), "model name").unwrap_or_default();
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
    json!({
        "nproc": cores,
        "memory_gib": (memory_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "cpu": cpu,
        "kernel": kernel,
    })
}

/// The value of the first `name: value` line.
pub fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// `123456 kB` as KiB.
pub fn kib(value: &str) -> Option<u64> {
    value.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_parse() {
        let status = "Name:\trollcall-gateway\nVmPeak:\t  200 kB\nVmHWM:\t   51234 kB\n";
        assert_eq!(field(status, "VmHWM").and_then(|v| kib(&v)), Some(51_234));
        assert_eq!(field(status, "VmRSS"), None);
    }
}
