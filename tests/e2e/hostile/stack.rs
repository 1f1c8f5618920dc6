//! The services under attack: the four service binaries at debug level, each writing to its own
//! log file, over TLS with mutual TLS for vendors and an identity provider's signed tokens for LA
//! users, on the harness's database with topics and consumer groups of their own. The catalogue
//! reaches them only through gRPC and the `rollcall` CLI; at the end their logs are read back to
//! look for personal data, which is why the services are processes here and not tasks.

use std::path::PathBuf;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rollcall_client::{AuthChannel, Credentials};
use rollcall_proto::feed::v1::feed_service_client::FeedServiceClient;
use rollcall_proto::query::v1::query_service_client::QueryServiceClient;

use crate::harness::{Pipeline, bin};
use crate::processes::{Processes, SERVICES};

/// The vendor whose client certificate the CA issued, registered for the certificate schools.
pub const CERT_VENDOR: &str = "cert-mis";
/// Another vendor with a certificate from the same CA, registered for no school of this test.
pub const OTHER_VENDOR: &str = "other-mis";
pub const ISSUER: &str = "https://idp.hostile.test";
pub const AUDIENCE: &str = "rollcall";
pub const KID: &str = "idp-1";

/// A PEM certificate and its key, as files.
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The services' CA and certificate, and the client certificates the catalogue presents.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    server: Identity,
    /// Issued by the CA to [`CERT_VENDOR`].
    pub vendor: Identity,
    /// Issued by the CA to [`OTHER_VENDOR`].
    pub other_vendor: Identity,
    /// Issued by the CA with no common name: it names no vendor.
    pub nameless: Identity,
    /// [`CERT_VENDOR`]'s name, from a CA the services do not trust.
    pub stranger: Identity,
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

impl Pki {
    fn make() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let issue = |issuer: &CertifiedIssuer<'static, KeyPair>,
                     name: &str,
                     sans: &[&str],
                     common_name: Option<&str>,
                     usage: ExtendedKeyUsagePurpose| {
            let key = KeyPair::generate().unwrap();
            let mut params =
                CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
                    .unwrap();
            // rcgen names every certificate "rcgen self signed cert" unless told otherwise.
            params.distinguished_name = rcgen::DistinguishedName::new();
            if let Some(cn) = common_name {
                params.distinguished_name.push(DnType::CommonName, cn);
            }
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, issuer).unwrap();
            Identity {
                cert: write(&format!("{name}.pem"), &cert.pem()),
                key: write(&format!("{name}.key"), &key.serialize_pem()),
            }
        };
        let ca = authority("hostile test ca");
        let client = ExtendedKeyUsagePurpose::ClientAuth;
        Pki {
            ca: write("ca.pem", &ca.pem()),
            server: issue(
                &ca,
                "server",
                &["127.0.0.1", "localhost"],
                Some("rollcall"),
                ExtendedKeyUsagePurpose::ServerAuth,
            ),
            vendor: issue(&ca, "vendor", &[], Some(CERT_VENDOR), client.clone()),
            other_vendor: issue(&ca, "other", &[], Some(OTHER_VENDOR), client.clone()),
            nameless: issue(&ca, "nameless", &[], None, client.clone()),
            stranger: issue(
                &authority("someone else's ca"),
                "stranger",
                &[],
                Some(CERT_VENDOR),
                client,
            ),
            _dir: dir,
        }
    }
}

/// The LA's identity provider: the JWKS the services trust, the key that signs for it, and a
/// key of the same kind the JWKS does not hold.
pub struct Idp {
    _dir: tempfile::TempDir,
    pub jwks: PathBuf,
    pub key: jsonwebtoken::EncodingKey,
    pub stranger: jsonwebtoken::EncodingKey,
}

impl Idp {
    fn make() -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let pair = KeyPair::generate().unwrap(); // ECDSA P-256
        let point = pair.public_key_raw(); // 0x04 || x || y
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwks = serde_json::json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256", "use": "sig",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        }]});
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks.to_string()).unwrap();
        let signer = |pair: &KeyPair| {
            jsonwebtoken::EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap()
        };
        Idp {
            jwks: path,
            key: signer(&pair),
            stranger: signer(&KeyPair::generate().unwrap()),
            _dir: dir,
        }
    }
}

/// The binaries, their addresses and logs, over the harness's database and keys.
pub struct Stack {
    pub pipeline: Pipeline,
    pub pki: Pki,
    pub idp: Idp,
    processes: Processes,
}

impl Stack {
    pub async fn start() -> Stack {
        let pipeline = Pipeline::start().await;
        let (pki, idp) = (Pki::make(), Idp::make());
        let path = |p: &PathBuf| p.to_str().unwrap().to_owned();
        let processes = Processes::start(
            &pipeline,
            "hostile",
            &[
                ("ROLLCALL__KAFKA__PARTITIONS", "3".into()),
                ("ROLLCALL__TLS__PLAINTEXT", "false".into()),
                ("ROLLCALL__TLS__CERT", path(&pki.server.cert)),
                ("ROLLCALL__TLS__KEY", path(&pki.server.key)),
                ("ROLLCALL__TLS__CLIENT_CA", path(&pki.ca)),
                ("ROLLCALL__AUTH__JWT__JWKS_FILE", path(&idp.jwks)),
                ("ROLLCALL__AUTH__JWT__ISSUER", ISSUER.into()),
                ("ROLLCALL__AUTH__JWT__AUDIENCE", AUDIENCE.into()),
                ("ROLLCALL__TELEMETRY__FILTER", "debug".into()),
            ],
        )
        .await;
        Stack {
            pipeline,
            pki,
            idp,
            processes,
        }
    }

    pub fn gateway_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.processes.gateway_port)
    }

    pub fn query_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.processes.query_port)
    }

    /// Trusting the services' CA, with `token` when given.
    pub fn credentials(&self, token: Option<&str>) -> Credentials {
        Credentials {
            token: token.map(str::to_owned),
            ca_cert: Some(self.pki.ca.clone()),
            ..Credentials::default()
        }
    }

    /// As [`Stack::credentials`], presenting `identity`'s client certificate as well.
    pub fn with_certificate(&self, identity: &Identity, token: Option<&str>) -> Credentials {
        Credentials {
            client_cert: Some(identity.cert.clone()),
            client_key: Some(identity.key.clone()),
            ..self.credentials(token)
        }
    }

    pub async fn feeds_with(&self, credentials: &Credentials) -> FeedServiceClient<AuthChannel> {
        FeedServiceClient::new(
            rollcall_client::connect(&self.gateway_url(), credentials)
                .await
                .unwrap(),
        )
    }

    pub async fn feeds_as(&self, token: &str) -> FeedServiceClient<AuthChannel> {
        self.feeds_with(&self.credentials(Some(token))).await
    }

    pub async fn query_as(&self, token: &str) -> QueryServiceClient<AuthChannel> {
        QueryServiceClient::new(
            rollcall_client::connect(&self.query_url(), &self.credentials(Some(token)))
                .await
                .unwrap(),
        )
    }

    /// Runs the CLI against the binaries as the holder of `token`: (succeeded, stdout, stderr).
    pub async fn cli(&self, token: &str, args: &[&str]) -> (bool, String, String) {
        let output = tokio::process::Command::new(bin("rollcall"))
            .args(["--gateway", &self.gateway_url()])
            .args(["--query", &self.query_url()])
            .args(["--ca-cert", self.pki.ca.to_str().unwrap()])
            .env("ROLLCALL_TOKEN", token)
            .args(args)
            .output()
            .await
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Feeds the gateway has recorded, read straight from the database.
    pub async fn feeds_received(&self) -> i64 {
        let pool = rollcall_db::connect(&self.pipeline.settings.database.url, 1)
            .await
            .unwrap();
        let counts = rollcall_db::pipeline_counts(&pool).await.unwrap();
        pool.close().await;
        counts.feeds_received
    }

    /// Stops the binaries with SIGTERM (each must stop cleanly) and the harness, and returns
    /// everything the binaries wrote.
    pub async fn stop(mut self) -> String {
        self.processes.stop().await;
        let mut all = String::new();
        for service in SERVICES {
            let text = self.processes.log(service);
            assert!(text.contains("DEBUG"), "{service} logged at debug level");
            all.push_str(&text);
        }
        self.pipeline.stop().await;
        all
    }
}
