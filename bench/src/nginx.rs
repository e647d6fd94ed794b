//! nginx as a benchmark's baseline: the same files from the same disk, served the way a
//! static file server does it best (sendfile, 2 workers, no access log).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::Context as _;

use crate::up::Process;

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// nginx in the foreground, 2 workers with sendfile, serving `root` on loopback `port`; its
/// files under `work/nginx`. `/c/<n>/<path>` serves `<path>` too (copies of a track, see
/// `crate::copies`).
pub fn start(binary: &Path, work: &Path, root: &Path, port: u16) -> anyhow::Result<Process> {
    let prefix = work.join("nginx");
    std::fs::create_dir_all(prefix.join("temp"))?;
    let temp = prefix.join("temp");
    let temp = temp.display();
    let running_as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let conf = format!(
        "{user}worker_processes 2;
worker_rlimit_nofile 65536;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    types {{ audio/ogg ogg; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
        location /c/ {{ rewrite ^/c/[0-9]+/(.*)$ /$1 break; }}
    }}
}}
",
        user = if running_as_root { "user root;\n" } else { "" },
        prefix = prefix.display(),
        root = root.display(),
    );
    let conf_path = prefix.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let child = Command::new(binary)
        .arg("-p")
        .arg(&prefix)
        .arg("-e")
        .arg(prefix.join("error.log"))
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {} (apt-get install nginx)", binary.display()))?;
    Ok(Process(child))
}
