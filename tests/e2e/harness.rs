//! The running system for one test: broker, database, four services, and clients.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rollcall_client::AuthChannel;
use rollcall_kafka::KafkaConfig;
use rollcall_proto::admin::v1::{
    CreateKeyRequest, SetVendorSchoolsRequest, key_service_client::KeyServiceClient,
};
use rollcall_proto::feed::v1::{
    FeedHeader, FeedReceipt, FeedStatus, GetFeedReceiptRequest, MarkChunk, MarkRecord, RollChunk,
    RollRecord, SubmitFeedRequest, feed_service_client::FeedServiceClient,
    submit_feed_request::Part,
};
use rollcall_proto::query::v1::{
    ImportSchoolsRequest, School, query_service_client::QueryServiceClient,
    registry_service_client::RegistryServiceClient,
};
use rollcall_server::ServiceSettings as _;
use rollcall_server::config::{AuthConfig, DatabaseConfig, TlsConfig};
use rollcall_server::ops::Listeners;
use rollcall_telemetry::TelemetryConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The vendor the harness's feed client sends as; every school a test imports or sends for is
/// registered to it.
pub const TEST_VENDOR: &str = "test-mis";

/// The broker shared by every test in this binary: `ROLLCALL_TEST_KAFKA` when set, otherwise a
/// Tansu process started here (memory storage) that exits when this test process does.
fn broker() -> &'static str {
    static BROKER: OnceLock<(String, Option<Child>)> = OnceLock::new();
    &BROKER
        .get_or_init(|| {
            if let Ok(brokers) = std::env::var("ROLLCALL_TEST_KAFKA") {
                return (brokers, None);
            }
            let port = free_port();
            let url = format!("tcp://127.0.0.1:{port}");
            // The watchdog shell ends the broker when this process exits, however it exits.
            let script = format!(
                "tansu broker --listener-url {url} --advertised-listener-url {url} --storage-engine memory://tansu/ >/dev/null 2>&1 & b=$!; \
                 while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $b",
                parent = std::process::id()
            );
            let child = Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::null())
                .spawn()
                .expect("cannot start tansu: is it installed? (make deps)");
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "tansu did not start listening on {port}");
                std::thread::sleep(Duration::from_millis(100));
            }
            (format!("127.0.0.1:{port}"), Some(child))
        })
        .0
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn admin_database_url() -> String {
    std::env::var("ROLLCALL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Every section the four services read, as one deployment's file would hold them: tests change
/// these, and each service is started with its own settings taken from them.
#[derive(Clone, Debug)]
pub struct Settings {
    pub database: DatabaseConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub kafka: KafkaConfig,
    pub gateway: rollcall_gateway::config::GatewayConfig,
    pub validator: rollcall_validator::config::ValidatorConfig,
    pub aggregator: rollcall_aggregator::config::AggregatorConfig,
    pub query: rollcall_query::config::QueryConfig,
}

impl Settings {
    /// Each service's embedded defaults.
    pub fn defaults() -> Settings {
        let gateway = rollcall_gateway::Settings::defaults();
        Settings {
            database: gateway.database,
            tls: gateway.tls,
            auth: gateway.auth,
            telemetry: gateway.telemetry,
            kafka: gateway.kafka,
            gateway: gateway.gateway,
            validator: rollcall_validator::Settings::defaults().validator,
            aggregator: rollcall_aggregator::Settings::defaults().aggregator,
            query: rollcall_query::Settings::defaults().query,
        }
    }

    pub fn gateway(&self) -> rollcall_gateway::Settings {
        rollcall_gateway::Settings {
            database: self.database.clone(),
            tls: self.tls.clone(),
            auth: self.auth.clone(),
            telemetry: self.telemetry.clone(),
            kafka: self.kafka.clone(),
            gateway: self.gateway.clone(),
        }
    }

    pub fn validator(&self) -> rollcall_validator::Settings {
        rollcall_validator::Settings {
            database: self.database.clone(),
            telemetry: self.telemetry.clone(),
            kafka: self.kafka.clone(),
            validator: self.validator.clone(),
        }
    }

    pub fn aggregator(&self) -> rollcall_aggregator::Settings {
        rollcall_aggregator::Settings {
            database: self.database.clone(),
            telemetry: self.telemetry.clone(),
            kafka: self.kafka.clone(),
            aggregator: self.aggregator.clone(),
        }
    }

    pub fn query(&self) -> rollcall_query::Settings {
        rollcall_query::Settings {
            database: self.database.clone(),
            tls: self.tls.clone(),
            auth: self.auth.clone(),
            telemetry: self.telemetry.clone(),
            query: self.query.clone(),
        }
    }

    /// Each service's own checks.
    pub fn validate(&self) -> Result<(), rollcall_server::config::ConfigError> {
        self.gateway().validate()?;
        self.validator().validate()?;
        self.aggregator().validate()?;
        self.query().validate()
    }
}

/// One test's system. Call `stop` at the end: it stops the services and drops the database.
///
/// The services run as configured for local use (plaintext on loopback) with authentication on:
/// `feeds()` sends as the vendor [`TEST_VENDOR`], `query()` asks as a user of LA 937 and
/// `registry()` as an admin.
pub struct Pipeline {
    pub settings: Settings,
    pub gateway_addr: SocketAddr,
    pub query_addr: SocketAddr,
    /// Each service's operations listener (`/metrics`, `/healthz`, `/readyz`); the workers'
    /// change when they are started again.
    pub ops: Ops,
    /// An admin key made straight in the database, as `rollcall keys bootstrap` does.
    pub admin_token: String,
    pub vendor_token: String,
    pub la_token: String,
    /// The CA that signed the services' certificates when they run with TLS; `None`: plaintext.
    pub ca_cert: Option<std::path::PathBuf>,
    vendor_schools: std::sync::Mutex<std::collections::BTreeSet<String>>,
    services: CancellationToken,
    gateway: JoinHandle<anyhow::Result<()>>,
    query: JoinHandle<anyhow::Result<()>>,
    validator: Option<JoinHandle<anyhow::Result<()>>>,
    aggregator: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The operations listeners' addresses, by service.
#[derive(Clone, Copy, Debug)]
pub struct Ops {
    pub gateway: SocketAddr,
    pub validator: SocketAddr,
    pub aggregator: SocketAddr,
    pub query: SocketAddr,
}

/// An operations listener on a port of the system's choosing, and its address.
pub async fn ops_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A Tansu broker of one test's own, storing its log and committed offsets in a SQLite file so
/// that they survive `restart`. Killed when dropped.
pub struct DurableBroker {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl DurableBroker {
    pub fn start() -> DurableBroker {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Self::spawn(dir.path(), port);
        DurableBroker { dir, port, child }
    }

    fn spawn(dir: &std::path::Path, port: u16) -> Child {
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new("tansu")
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start tansu: is it installed? (make deps)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        child
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker outright (no clean shutdown) and starts it again on the same file and port.
    pub fn restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.child = Self::spawn(self.dir.path(), self.port);
    }
}

impl Drop for DurableBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pipeline {
    pub async fn start() -> Pipeline {
        Self::start_on(broker()).await
    }

    /// The shared broker's address, for `start_with`.
    pub fn shared_broker() -> &'static str {
        broker()
    }

    /// The system on a given broker (`start` uses the binary's shared one).
    pub async fn start_on(brokers: &str) -> Pipeline {
        Self::start_with(brokers, |_| {}).await
    }

    /// The system with settings changed by `configure` (TLS, rate limits, JWT) before the
    /// services start. With TLS on, set `ca_cert` on the result before making clients.
    pub async fn start_with(brokers: &str, configure: impl FnOnce(&mut Settings)) -> Pipeline {
        let run = uuid::Uuid::new_v4().simple().to_string();
        let mut settings = Settings::defaults();
        // Local use, explicitly: the TLS tests configure certificates instead.
        settings.tls.plaintext = true;
        let admin = admin_database_url();
        let base = admin.rsplit_once('/').unwrap().0;
        settings.database.url = format!("{base}/rollcall_e2e_{run}");
        settings.database.max_connections = 4;
        settings.kafka.brokers = brokers.to_owned();
        settings.kafka.partitions = 3;
        for topic in [
            &mut settings.kafka.topics.feeds,
            &mut settings.kafka.topics.validated,
            &mut settings.kafka.topics.rejected,
        ] {
            *topic = format!("{topic}.{run}");
        }
        settings.kafka.groups.validator = format!("validator-{run}");
        settings.kafka.groups.aggregator = format!("aggregator-{run}");
        rollcall_db::ensure_database(&settings.database.url)
            .await
            .expect("create the test database");
        let pool = rollcall_db::connect(&settings.database.url, 2)
            .await
            .unwrap();
        rollcall_db::migrate(&pool).await.unwrap();
        let issue = async |kind: &str, org: &str| {
            rollcall_server::auth::issue_key(&pool, kind, org, "e2e", 1)
                .await
                .unwrap()
                .1
        };
        let admin_token = issue("admin", "").await;
        let vendor_token = issue("vendor", TEST_VENDOR).await;
        let la_token = issue("la", "937").await;
        pool.close().await;
        configure(&mut settings);
        settings.validate().expect("test settings are valid");
        let topics = &settings.kafka.topics;
        rollcall_kafka::ensure_topics(
            &settings.kafka,
            &[&topics.feeds, &topics.validated, &topics.rejected],
        )
        .await
        .expect("create the test topics");

        let services = CancellationToken::new();
        let gateway_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let query_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway_addr = gateway_listener.local_addr().unwrap();
        let query_addr = query_listener.local_addr().unwrap();
        let (gateway_ops, gateway_ops_addr) = ops_listener().await;
        let (query_ops, query_ops_addr) = ops_listener().await;
        let gateway = tokio::spawn(rollcall_gateway::serve(
            settings.gateway(),
            Listeners {
                api: gateway_listener,
                ops: gateway_ops,
            },
            services.child_token(),
        ));
        let query = tokio::spawn(rollcall_query::serve(
            settings.query(),
            Listeners {
                api: query_listener,
                ops: query_ops,
            },
            services.child_token(),
        ));
        let mut pipeline = Pipeline {
            settings,
            gateway_addr,
            query_addr,
            ops: Ops {
                gateway: gateway_ops_addr,
                query: query_ops_addr,
                // Set by `start_workers`.
                validator: gateway_ops_addr,
                aggregator: gateway_ops_addr,
            },
            services,
            gateway,
            query,
            validator: None,
            aggregator: None,
            admin_token,
            vendor_token,
            la_token,
            ca_cert: None,
            vendor_schools: Default::default(),
        };
        pipeline.start_workers().await;
        wait_listening(gateway_addr).await;
        wait_listening(query_addr).await;
        pipeline
    }

    /// Starts the validator and aggregator (again, after `crash_workers`).
    pub async fn start_workers(&mut self) {
        let (validator_ops, validator_addr) = ops_listener().await;
        self.ops.validator = validator_addr;
        self.validator = Some(tokio::spawn(rollcall_validator::serve(
            self.settings.validator(),
            validator_ops,
            self.services.child_token(),
        )));
        self.start_aggregator().await;
    }

    /// Starts the aggregator (again, after `crash_aggregator`).
    pub async fn start_aggregator(&mut self) {
        let (aggregator_ops, aggregator_addr) = ops_listener().await;
        self.ops.aggregator = aggregator_addr;
        self.aggregator = Some(tokio::spawn(rollcall_aggregator::serve(
            self.settings.aggregator(),
            aggregator_ops,
            self.services.child_token(),
        )));
    }

    /// Kills the aggregator alone, as `crash_workers` does both.
    pub async fn crash_aggregator(&mut self) {
        if let Some(worker) = self.aggregator.take() {
            worker.abort();
            let _ = worker.await;
        }
    }

    /// The text `/metrics` of the operations listener at `addr` answers.
    pub async fn scrape(&self, addr: SocketAddr) -> String {
        let (status, body) = http_get(addr, "/metrics").await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Kills both workers wherever they are, as a crash would: no graceful shutdown, nothing
    /// committed that was not already.
    pub async fn crash_workers(&mut self) {
        for worker in [self.validator.take(), self.aggregator.take()]
            .into_iter()
            .flatten()
        {
            worker.abort();
            let _ = worker.await;
        }
    }

    /// The address of a service as a client names it: `https://` when the services run with TLS.
    pub fn url(&self, addr: SocketAddr) -> String {
        match self.ca_cert {
            Some(_) => format!("https://{addr}"),
            None => format!("http://{addr}"),
        }
    }

    /// A channel to `addr` carrying `token` (over TLS when the services run with it).
    pub async fn channel(&self, addr: SocketAddr, token: Option<&str>) -> AuthChannel {
        rollcall_client::connect(
            &self.url(addr),
            &rollcall_client::Credentials {
                token: token.map(str::to_owned),
                ca_cert: self.ca_cert.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    pub async fn gateway_as(&self, token: &str) -> FeedServiceClient<AuthChannel> {
        FeedServiceClient::new(self.channel(self.gateway_addr, Some(token)).await)
    }

    pub async fn query_as(&self, token: &str) -> QueryServiceClient<AuthChannel> {
        QueryServiceClient::new(self.channel(self.query_addr, Some(token)).await)
    }

    pub async fn feeds(&self) -> FeedServiceClient<AuthChannel> {
        self.gateway_as(&self.vendor_token).await
    }

    pub async fn query(&self) -> QueryServiceClient<AuthChannel> {
        self.query_as(&self.la_token).await
    }

    pub async fn registry(&self) -> RegistryServiceClient<AuthChannel> {
        RegistryServiceClient::new(self.channel(self.query_addr, Some(&self.admin_token)).await)
    }

    pub async fn keys(&self) -> KeyServiceClient<AuthChannel> {
        KeyServiceClient::new(self.channel(self.query_addr, Some(&self.admin_token)).await)
    }

    /// A new key of `kind` for `organisation`, made through the admin API.
    pub async fn key(&self, kind: &str, organisation: &str) -> String {
        self.keys()
            .await
            .create_key(CreateKeyRequest {
                kind: kind.into(),
                organisation: organisation.into(),
                description: "e2e".into(),
                valid_days: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .token
    }

    /// Imports the schools (as an admin) and registers them to the test vendor.
    pub async fn import_schools(&self, schools: Vec<School>) {
        let urns: Vec<String> = schools.iter().map(|s| s.urn.clone()).collect();
        self.registry()
            .await
            .import_schools(ImportSchoolsRequest { schools })
            .await
            .unwrap();
        self.register_for_test_vendor(&urns).await;
    }

    /// [`Pipeline::import_schools`] for a synthetic LA's schools.
    pub async fn import_synthetic_schools(&self, schools: &[rollcall_synth::School]) {
        self.import_schools(
            schools
                .iter()
                .map(rollcall_client::registry_school)
                .collect(),
        )
        .await;
    }

    /// Adds `urns` (those that are well-formed) to the test vendor's schools.
    pub async fn register_for_test_vendor(&self, urns: &[String]) {
        let all: Vec<String> = {
            let mut registered = self.vendor_schools.lock().unwrap();
            let before = registered.len();
            registered.extend(
                urns.iter()
                    .filter(|u| rollcall_domain::Urn::parse(u).is_ok())
                    .cloned(),
            );
            if registered.len() == before {
                return;
            }
            registered.iter().cloned().collect()
        };
        self.keys()
            .await
            .set_vendor_schools(SetVendorSchoolsRequest {
                vendor: TEST_VENDOR.into(),
                school_urns: all,
            })
            .await
            .unwrap();
    }

    /// The feed's receipt as it stands, asked as the test vendor.
    pub async fn receipt(&self, feed_id: &str) -> FeedReceipt {
        self.feeds()
            .await
            .get_feed_receipt(GetFeedReceiptRequest {
                feed_id: feed_id.to_owned(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Polls the receipt until the pipeline has processed the feed.
    pub async fn wait_processed(&self, feed_id: &str) -> FeedReceipt {
        let mut client = self.feeds().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let receipt = client
                .get_feed_receipt(GetFeedReceiptRequest {
                    feed_id: feed_id.to_owned(),
                })
                .await
                .unwrap()
                .into_inner();
            if receipt.status() == FeedStatus::Processed {
                return receipt;
            }
            assert!(
                Instant::now() < deadline,
                "feed {feed_id} not processed within 60s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn message_count(&self, topic: &str) -> i64 {
        rollcall_kafka::message_count(&self.settings.kafka, topic)
            .await
            .unwrap()
    }

    /// Reads `topic` from the start with a fresh consumer group until `expected` messages have
    /// arrived and nothing more comes for a second, then decodes them.
    pub async fn read_topic<M: prost::Message + Default>(
        &self,
        topic: &str,
        expected: usize,
    ) -> Vec<M> {
        let group = format!("reader-{}", uuid::Uuid::new_v4().simple());
        let consumer = rollcall_kafka::consumer(&self.settings.kafka, &group).unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let reader = {
            let (seen, stop) = (seen.clone(), stop.clone());
            let topic = topic.to_owned();
            tokio::spawn(async move {
                rollcall_kafka::consume(&consumer, &topic, stop, |message| {
                    seen.lock().unwrap().push(message.payload);
                    std::future::ready(Ok::<(), String>(()))
                })
                .await
                .unwrap();
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = (0, Instant::now());
        loop {
            let n = seen.lock().unwrap().len();
            if n != last.0 {
                last = (n, Instant::now());
            }
            if n >= expected && last.1.elapsed() > Duration::from_secs(1) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "read {n} of {expected} messages from {topic}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.cancel();
        reader.await.unwrap();
        let payloads = seen.lock().unwrap().clone();
        payloads
            .into_iter()
            .map(|p| M::decode(p.as_slice()).unwrap())
            .collect()
    }

    pub async fn stop(mut self) {
        self.services.cancel();
        self.crash_workers().await;
        for service in [self.gateway, self.query] {
            let _ = tokio::time::timeout(Duration::from_secs(10), service).await;
        }
        rollcall_db::drop_database(&self.settings.database.url)
            .await
            .ok();
    }
}

/// A plain HTTP/1.1 GET of `path` at `addr`: the status and the body (the operations listeners
/// answer with a length, not in chunks).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: ops\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

async fn wait_listening(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "service on {addr} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A feed built by hand, for the cases the synthetic LA does not cover.
#[derive(Clone, Debug)]
pub struct FeedSpec {
    pub urn: String,
    pub key: String,
    pub extracted_at: chrono::DateTime<chrono::Utc>,
    pub roll: Vec<RollRecord>,
    pub marks: Vec<MarkRecord>,
}

impl FeedSpec {
    pub fn requests(&self) -> Vec<SubmitFeedRequest> {
        let header = FeedHeader {
            school_urn: self.urn.clone(),
            extracted_at: Some(prost_types::Timestamp {
                seconds: self.extracted_at.timestamp(),
                nanos: self.extracted_at.timestamp_subsec_nanos() as i32,
            }),
            idempotency_key: self.key.clone(),
            code_set: "2024".into(),
        };
        let mut requests = vec![SubmitFeedRequest {
            part: Some(Part::Header(header)),
        }];
        for chunk in self.roll.chunks(1000) {
            requests.push(SubmitFeedRequest {
                part: Some(Part::Roll(RollChunk {
                    records: chunk.to_vec(),
                })),
            });
        }
        for chunk in self.marks.chunks(5000) {
            requests.push(SubmitFeedRequest {
                part: Some(Part::Marks(MarkChunk {
                    records: chunk.to_vec(),
                })),
            });
        }
        requests
    }

    /// Sends as the test vendor, registered for the feed's school first (as its LA would have).
    pub async fn submit(&self, pipeline: &Pipeline) -> Result<FeedReceipt, tonic::Status> {
        pipeline
            .register_for_test_vendor(std::slice::from_ref(&self.urn))
            .await;
        let stream = tokio_stream::iter(self.requests());
        pipeline
            .feeds()
            .await
            .submit_feed(stream)
            .await
            .map(tonic::Response::into_inner)
    }
}

pub fn pupil(upn: &str, admission: &str) -> RollRecord {
    RollRecord {
        upn: upn.into(),
        forename: "Ada".into(),
        surname: "Testpupil".into(),
        date_of_birth: "2014-03-02".into(),
        sex: "F".into(),
        year_group: "6".into(),
        admission_date: admission.into(),
        ..Default::default()
    }
}

pub fn mark(upn: &str, date: &str, session: &str, code: &str) -> MarkRecord {
    MarkRecord {
        upn: upn.into(),
        date: date.into(),
        session: session.into(),
        code: code.into(),
        minutes_late: String::new(),
    }
}

pub fn school(urn: &str, la: &str, independent: bool) -> School {
    School {
        urn: urn.into(),
        la_code: la.into(),
        name: format!("Test School {urn}"),
        phase: "primary".into(),
        school_type: if independent {
            "independent"
        } else {
            "academy"
        }
        .into(),
        independent,
    }
}

/// A valid UPN for LA `la` (estab, year, serial), with its check letter computed by the domain.
pub fn upn(la: u16, serial: u16) -> String {
    let la = rollcall_domain::LaCode::new(la).unwrap();
    rollcall_domain::Upn::from_parts(la, 2001, 14, serial)
        .as_str()
        .to_owned()
}

/// A binary of this workspace, built beside this test binary (`make test` builds them first).
pub fn bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (make test does)",
        path.display()
    );
    path
}
