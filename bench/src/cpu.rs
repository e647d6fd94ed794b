//! CPU time from the kernel's accounting (`/proc`, the same counters `getrusage` reads):
//! this thread, this process, and its waited-for children. Linux only; 0 elsewhere.

/// Clock ticks per second of the `/proc` counters (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// Fields after the parenthesised command name of a `/proc/.../stat` file, as numbers.
fn stat_fields(path: &str) -> Vec<f64> {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    rest.split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect()
}

/// utime + stime of fields `at` and `at + 1` (counted from the state field, 0-based), in s.
fn seconds(path: &str, at: usize) -> f64 {
    let fields = stat_fields(path);
    fields.iter().skip(at).take(2).sum::<f64>() / TICKS
}

/// CPU seconds this thread has used (RUSAGE_THREAD).
pub fn thread() -> f64 {
    seconds("/proc/thread-self/stat", 11)
}

/// CPU seconds this process has used, every thread (RUSAGE_SELF).
pub fn process() -> f64 {
    seconds("/proc/self/stat", 11)
}

/// CPU seconds process `pid` has used, every thread (its own threads only, not children).
pub fn of_pid(pid: u32) -> f64 {
    seconds(&format!("/proc/{pid}/stat"), 11)
}

/// CPU seconds of this process's children that were waited for (RUSAGE_CHILDREN).
pub fn children() -> f64 {
    seconds("/proc/self/stat", 13)
}

/// The machine's 1-minute load average, to note how busy the machine was.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// CPU seconds of process `pid` and of its live descendants (nginx: master and workers).
pub fn tree(pid: u32) -> f64 {
    let mut total = of_pid(pid);
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let listed = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            children.extend(
                listed
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    for child in children {
        total += tree(child);
    }
    total
}
