//! The system the chaos run and the morning peak drive: a Tansu broker (storing its log in
//! SQLite, so that it survives being killed, or in memory), the four services against a fresh
//! database, and the PostgreSQL server itself, each of which can be killed or restarted by name.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rollcall_client::AuthChannel;
use rollcall_proto::query::v1::registry_service_client::RegistryServiceClient;
use rollcall_synth::Plan;

use crate::procs::{self, Processes};

/// The running system.
pub struct Stack {
    pub processes: Processes,
    pub kafka_port: u16,
    pub gateway_port: u16,
    pub query_port: u16,
    /// A vendor's key for every school of the plan.
    pub vendor_token: String,
}

/// Which services to run, and where.
pub struct Layout<'a> {
    pub database_url: &'a str,
    /// The run's own directory: logs and the broker's store.
    pub dir: &'a Path,
    pub validators: usize,
    pub aggregators: usize,
    /// The broker keeps its log in a file, surviving a kill (else in memory).
    pub durable_broker: bool,
    /// More settings for every service (`ROLLCALL__...` variables).
    pub env: Vec<(String, String)>,
}

impl Stack {
    /// Starts everything on a fresh database and a fresh broker store, and registers the plan's
    /// schools, a vendor and its key.
    pub async fn start(layout: Layout<'_>, plan: &Plan) -> anyhow::Result<Stack> {
        rollcall_db::drop_database(layout.database_url).await?;
        rollcall_db::ensure_database(layout.database_url).await?;
        let broker_dir = layout.dir.join("broker");
        let _ = std::fs::remove_dir_all(&broker_dir);
        std::fs::create_dir_all(&broker_dir)
            .with_context(|| format!("cannot create {}", broker_dir.display()))?;
        let logs = layout.dir.to_owned();

        let mut processes = Processes::default();
        let kafka_port = procs::free_port()?;
        let listener = format!("tcp://127.0.0.1:{kafka_port}");
        processes.spawn_in(
            "broker",
            Path::new("tansu"),
            &[
                "broker".into(),
                "--listener-url".into(),
                listener.clone(),
                "--advertised-listener-url".into(),
                listener,
                "--storage-engine".into(),
                if layout.durable_broker {
                    "sqlite://tansu.db".into()
                } else {
                    "memory://tansu/".into()
                },
            ],
            &[],
            &logs,
            Some(&broker_dir),
        )?;
        procs::wait_port(kafka_port, &mut processes).await?;

        let gateway_port = procs::free_port()?;
        let query_port = procs::free_port()?;
        let mut env = crate::service_env(layout.database_url);
        env.extend(layout.env.iter().cloned());
        env.extend([
            (
                "ROLLCALL__KAFKA__BROKERS".to_owned(),
                format!("127.0.0.1:{kafka_port}"),
            ),
            (
                "ROLLCALL__GATEWAY__LISTEN".to_owned(),
                format!("127.0.0.1:{gateway_port}"),
            ),
            (
                "ROLLCALL__QUERY__LISTEN".to_owned(),
                format!("127.0.0.1:{query_port}"),
            ),
        ]);
        let admin_token = {
            let pool = rollcall_db::open(layout.database_url, 1).await?;
            let (_, token) =
                rollcall_server::auth::issue_key(&pool, "admin", "", "chaos admin", 1).await?;
            pool.close().await;
            token
        };
        let bin_dir = binaries()?;
        for (service, instances) in [
            ("query", 1),
            ("gateway", 1),
            ("validator", layout.validators),
            ("aggregator", layout.aggregators),
        ] {
            let program = bin_dir.join(format!("rollcall-{service}"));
            for instance in 1..=instances {
                let name = crate::instance_name(service, instance);
                // Static membership: a worker restarted after a kill takes back its own
                // partitions (as a StatefulSet's pod would, under its name).
                let mut env = env.clone();
                env.push(("ROLLCALL__KAFKA__INSTANCE_ID".to_owned(), name.clone()));
                processes.spawn(&name, &program, &[], &env, &logs)?;
            }
        }
        procs::wait_port(gateway_port, &mut processes).await?;
        procs::wait_port(query_port, &mut processes).await?;

        let admin = crate::channel(query_port, &admin_token).await?;
        rollcall_client::import_synthetic_schools(
            &mut RegistryServiceClient::new(admin.clone()),
            &plan.schools,
        )
        .await
        .map_err(rollcall_client::status::error)?;
        let keys =
            rollcall_client::synthetic_keys(admin, "chaos-mis", plan.spec.la_code, &plan.schools)
                .await
                .map_err(rollcall_client::status::error)?;
        Ok(Stack {
            processes,
            kafka_port,
            gateway_port,
            query_port,
            vendor_token: keys.vendor_token,
        })
    }

    /// A channel to the gateway with the vendor's key.
    pub async fn gateway(&self) -> anyhow::Result<AuthChannel> {
        crate::channel(self.gateway_port, &self.vendor_token).await
    }

    /// Kills `name` with SIGKILL, waits `down`, and starts it again; waits for its port when it
    /// has one.
    pub async fn kill_and_restart(&mut self, name: &str, down: Duration) -> anyhow::Result<()> {
        self.processes.kill(name)?;
        tokio::time::sleep(down).await;
        self.processes.restart(name)?;
        let port = match name {
            "broker" => Some(self.kafka_port),
            "gateway" => Some(self.gateway_port),
            "query" => Some(self.query_port),
            _ => None,
        };
        if let Some(port) = port {
            procs::wait_port(port, &mut self.processes).await?;
        }
        Ok(())
    }
}

/// Where the services' executables are: beside this one.
fn binaries() -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .context("the program's executable has no directory")?
        .to_owned())
}

/// The PostgreSQL cluster serving the database, as Debian's cluster tools name it.
pub struct Postgres {
    version: String,
    name: String,
    port: u16,
}

impl Postgres {
    /// The cluster listening on `port`, from `pg_lsclusters`; an error where PostgreSQL is not
    /// run by Debian's cluster tools (the chaos run restarts it with them).
    pub fn on_port(port: u16) -> anyhow::Result<Postgres> {
        let output = Command::new("pg_lsclusters")
            .arg("-h")
            .output()
            .context("cannot run pg_lsclusters: the chaos run restarts PostgreSQL with Debian's cluster tools")?;
        let listing = String::from_utf8_lossy(&output.stdout);
        listing
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                match fields.as_slice() {
                    [version, name, p, ..] if p.parse() == Ok(port) => Some(Postgres {
                        version: (*version).to_owned(),
                        name: (*name).to_owned(),
                        port,
                    }),
                    _ => None,
                }
            })
            .next()
            .with_context(|| format!("no PostgreSQL cluster on port {port} in pg_lsclusters"))
    }

    /// Restarts the server at once: `immediate` mode, so it stops as a crash would and
    /// recovers from its log on start.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.control(&["restart", "--mode", "immediate"])?;
        self.wait_ready().await
    }

    /// Stops the server (fast mode: sessions cut off), waits `down`, and starts it again.
    pub async fn outage(&self, down: Duration) -> anyhow::Result<()> {
        self.control(&["stop", "--mode", "fast"])?;
        // Started again however this ends, an interrupted run included.
        let mut stopped = Stopped(Some(self));
        tokio::time::sleep(down).await;
        stopped.0.take();
        self.control(&["start"])?;
        self.wait_ready().await
    }

    fn control(&self, action: &[&str]) -> anyhow::Result<()> {
        let mut args = vec!["--skip-systemctl-redirect", &self.version, &self.name];
        args.extend_from_slice(action);
        let root = is_root();
        let status = if root {
            Command::new("pg_ctlcluster")
                .args(&args)
                .stdout(Stdio::null())
                .status()
        } else {
            Command::new("sudo")
                .arg("pg_ctlcluster")
                .args(&args)
                .stdout(Stdio::null())
                .status()
        }
        .context("cannot run pg_ctlcluster")?;
        anyhow::ensure!(
            status.success(),
            "pg_ctlcluster {} failed: {status}",
            action.join(" ")
        );
        Ok(())
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = Command::new("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "postgresql not ready 120s after it was started"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A stopped server, started again when dropped unless taken.
struct Stopped<'a>(Option<&'a Postgres>);

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        if let Some(postgres) = self.0 {
            let _ = postgres.control(&["start"]);
        }
    }
}

/// Whether this process runs as root (then `pg_ctlcluster` needs no `sudo`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
