//! CPU time from the kernel's accounting, for the examples that measure on a shared machine
//! (other work does not count in it).

/// CPU seconds used by whatever `/proc/.../stat` file `path` describes
/// (`/proc/thread-self/stat`: this thread; `/proc/self/stat`: every thread of this process);
/// 0 where /proc is unavailable.
pub fn seconds(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<f64>().ok())
        .sum();
    ticks / 100.0 // USER_HZ is 100 on Linux
}
