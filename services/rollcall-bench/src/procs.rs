//! The processes the benchmark starts (broker and services), stopped by a guard on every exit.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// Every process started, stopped (SIGTERM, then SIGKILL after a grace period) when dropped.
#[derive(Default)]
pub struct Processes {
    children: Vec<(String, Child)>,
    /// How each was started, so that it can be started again after it was killed.
    launches: Vec<(String, Launch)>,
}

/// Resolves once any of `processes` has exited, with how it ended.
pub async fn first_exit(processes: &mut Processes) -> anyhow::Error {
    loop {
        if let Err(died) = processes.check_running() {
            return died;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// How a process is started: program, arguments, environment, working directory and log.
#[derive(Clone, Debug)]
struct Launch {
    program: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    log: PathBuf,
}

impl Launch {
    /// Starts it, its output appended to its log.
    fn start(&self, name: &str) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open the log of {name}"))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", self.program.display()))
    }
}

impl Processes {
    /// Starts `program` with `args` and `env`, its output going to `<logs>/<name>.log`.
    pub fn spawn(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        logs: &Path,
    ) -> anyhow::Result<()> {
        self.spawn_in(name, program, args, env, logs, None)
    }

    /// [`Processes::spawn`], in working directory `dir` when given.
    pub fn spawn_in(
        &mut self,
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        logs: &Path,
        dir: Option<&Path>,
    ) -> anyhow::Result<()> {
        let log = logs.join(format!("{name}.log"));
        std::fs::File::create(&log).with_context(|| format!("cannot create the log of {name}"))?;
        let launch = Launch {
            program: program.to_owned(),
            args: args.to_vec(),
            env: env.to_vec(),
            dir: dir.map(Path::to_owned),
            log,
        };
        let child = launch.start(name)?;
        self.children.push((name.to_owned(), child));
        self.launches.push((name.to_owned(), launch));
        Ok(())
    }

    /// Kills `name` outright (SIGKILL: no shutdown, nothing flushed) and waits for it to exit.
    pub fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let index = self.index(name)?;
        let child = &mut self.children[index].1;
        child
            .kill()
            .with_context(|| format!("cannot kill {name}"))?;
        child.wait()?;
        Ok(())
    }

    /// Starts `name` again as it was first started (after [`Processes::kill`]).
    pub fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let index = self.index(name)?;
        self.children[index].1 = self.launches[index].1.start(name)?;
        Ok(())
    }

    /// Where `name` is in `children` and in `launches` (pushed together, so in the same order).
    fn index(&self, name: &str) -> anyhow::Result<usize> {
        self.launches
            .iter()
            .position(|(n, _)| n == name)
            .with_context(|| format!("no process named {name}"))
    }

    /// Peak resident memory (VmHWM) of each running process, in KiB.
    pub fn peak_memory_kib(&self) -> Vec<(String, Option<u64>)> {
        self.children
            .iter()
            .map(|(name, child)| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
                    .unwrap_or_default();
                let hwm =
                    crate::machine::field(&status, "VmHWM").and_then(|v| crate::machine::kib(&v));
                (name.clone(), hwm)
            })
            .collect()
    }

    /// CPU time (user and system) each running process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> Vec<(String, Option<f64>)> {
        self.children
            .iter()
            .map(|(name, child)| {
                (
                    name.clone(),
                    crate::machine::process_cpu_seconds(child.id()),
                )
            })
            .collect()
    }

    /// Fails when a process has already exited, saying how (its exit code, or the signal that
    /// ended it: SIGKILL with nothing in its log is most often the kernel's out-of-memory killer).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        for (name, child) in &mut self.children {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("{name} exited early ({status}); see its log");
            }
        }
        Ok(())
    }

    /// Stops every process, newest first: SIGTERM, then SIGKILL after 10 seconds.
    pub fn stop(&mut self) {
        for (_, child) in self.children.iter().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        self.launches.clear();
        for (name, mut child) in self.children.drain(..).rev() {
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        eprintln!("bench: {name} did not stop in time; killing it");
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts connections on the loopback `port`.
pub async fn wait_port(port: u16, processes: &mut Processes) -> anyhow::Result<()> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        processes.check_running()?;
        anyhow::ensure!(
            Instant::now() < deadline,
            "nothing listening on port {port} after 60s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
