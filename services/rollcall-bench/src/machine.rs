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

/// The kernel's unit for CPU times in `/proc` (`USER_HZ`): 100 on x86-64 and arm64.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time of the whole machine from the first line of `/proc/stat`, in seconds summed over
/// cores: busy (every state but idle, waiting for I/O and stolen), stolen (time the hypervisor
/// gave this machine's virtual cores to something else, which slows every process here without
/// showing in any of their times) and idle while waiting for I/O (a slow disk).
pub fn machine_cpu_seconds() -> Option<MachineCpu> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal ...
    let [user, nice, system, _idle, iowait, irq, softirq, steal] =
        ticks.get(..8)?.try_into().ok()?;
    let seconds = |ticks: u64| ticks as f64 / TICKS_PER_SECOND;
    Some(MachineCpu {
        busy: seconds(user + nice + system + irq + softirq),
        stolen: seconds(steal),
        iowait: seconds(iowait),
    })
}

/// The machine's CPU time in seconds, summed over cores (see [`machine_cpu_seconds`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MachineCpu {
    pub busy: f64,
    pub stolen: f64,
    pub iowait: f64,
}

impl std::ops::Sub for MachineCpu {
    type Output = MachineCpu;
    fn sub(self, earlier: MachineCpu) -> MachineCpu {
        MachineCpu {
            busy: self.busy - earlier.busy,
            stolen: self.stolen - earlier.stolen,
            iowait: self.iowait - earlier.iowait,
        }
    }
}

/// CPU time (user and system) process `pid` has used, in seconds.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_seconds_of_stat(&stat)
}

/// `utime + stime` of a `/proc/<pid>/stat` line, in seconds. The command name (field 2) is in
/// parentheses and may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_seconds_of_stat(stat: &str) -> Option<f64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SECOND)
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

    #[test]
    fn cpu_times_are_read_after_the_command_name() {
        let stat = "4242 (rollcall (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_seconds_of_stat(stat), Some(3.25));
        assert!(process_cpu_seconds(std::process::id()).is_some());
        assert!(machine_cpu_seconds().is_some());
    }
}
