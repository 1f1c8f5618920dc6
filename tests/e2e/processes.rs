//! The four service binaries as processes of their own, on a test's database and broker but on
//! topics and consumer groups of their own, with their output captured: for what only a real
//! process shows (every log line it writes, the spans it exports).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{Pipeline, bin, free_port};

pub const SERVICES: [&str; 4] = ["gateway", "validator", "aggregator", "query"];

pub struct Processes {
    pub gateway_port: u16,
    pub query_port: u16,
    logs: tempfile::TempDir,
    children: Vec<tokio::process::Child>,
}

impl Processes {
    /// Starts the binaries with `extra` settings beside those every run needs, and waits until
    /// the gateway and the query service listen.
    pub async fn start(pipeline: &Pipeline, prefix: &str, extra: &[(&str, String)]) -> Processes {
        let run = format!("{prefix}.{}", uuid::Uuid::new_v4().simple());
        let logs = tempfile::tempdir().unwrap();
        let (gateway_port, query_port) = (free_port(), free_port());
        let settings = &pipeline.settings;
        let mut env: Vec<(&str, String)> = vec![
            ("ROLLCALL__DATABASE__URL", settings.database.url.clone()),
            ("ROLLCALL__KAFKA__BROKERS", settings.kafka.brokers.clone()),
            ("ROLLCALL__KAFKA__TOPICS__FEEDS", format!("{run}.feeds")),
            (
                "ROLLCALL__KAFKA__TOPICS__VALIDATED",
                format!("{run}.validated"),
            ),
            (
                "ROLLCALL__KAFKA__TOPICS__REJECTED",
                format!("{run}.rejected"),
            ),
            (
                "ROLLCALL__KAFKA__GROUPS__VALIDATOR",
                format!("{run}-validator"),
            ),
            (
                "ROLLCALL__KAFKA__GROUPS__AGGREGATOR",
                format!("{run}-aggregator"),
            ),
            ("ROLLCALL__KAFKA__PARTITIONS", "1".into()),
            (
                "ROLLCALL__GATEWAY__LISTEN",
                format!("127.0.0.1:{gateway_port}"),
            ),
            ("ROLLCALL__QUERY__LISTEN", format!("127.0.0.1:{query_port}")),
            ("ROLLCALL__TLS__PLAINTEXT", "true".into()),
            // Operations listeners on ports of the system's choosing: tests run at once.
            ("ROLLCALL__GATEWAY__OPS_LISTEN", "127.0.0.1:0".into()),
            ("ROLLCALL__VALIDATOR__OPS_LISTEN", "127.0.0.1:0".into()),
            ("ROLLCALL__AGGREGATOR__OPS_LISTEN", "127.0.0.1:0".into()),
            ("ROLLCALL__QUERY__OPS_LISTEN", "127.0.0.1:0".into()),
        ];
        env.extend(extra.iter().cloned());
        let mut children = Vec::new();
        for service in SERVICES {
            let log = std::fs::File::create(logs.path().join(format!("{service}.log"))).unwrap();
            let child = tokio::process::Command::new(bin(&format!("rollcall-{service}")))
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .env_remove("RUST_LOG")
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            children.push(child);
        }
        for port in [gateway_port, query_port] {
            let deadline = Instant::now() + Duration::from_secs(30);
            while tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "port {port} not listening");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Processes {
            gateway_port,
            query_port,
            logs,
            children,
        }
    }

    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.gateway_port)
    }

    pub fn query_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.query_port)
    }

    /// Stops every service with SIGTERM, as an orchestrator would, and checks each stopped
    /// cleanly within 15 s (flushing what it held: spans included).
    pub async fn stop(&mut self) {
        for child in &self.children {
            let pid = child.id().unwrap().to_string();
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap();
        }
        for child in &mut self.children {
            let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
                .await
                .expect("a service did not stop within 15s of SIGTERM")
                .unwrap();
            assert!(status.success(), "a service exited with {status}");
        }
    }

    /// What `service` wrote to stdout and stderr.
    pub fn log(&self, service: &str) -> String {
        String::from_utf8_lossy(&std::fs::read(self.log_path(service)).unwrap()).into_owned()
    }

    fn log_path(&self, service: &str) -> PathBuf {
        self.logs.path().join(format!("{service}.log"))
    }
}
