//! Every server reports health, and every binary stops cleanly on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::harness::{Pipeline, bin};

#[tokio::test]
async fn health_reports_serving_for_each_grpc_service() {
    let pipeline = Pipeline::start().await;
    for (addr, service) in [
        (pipeline.gateway_addr, "rollcall.feed.v1.FeedService"),
        (pipeline.query_addr, "rollcall.query.v1.QueryService"),
        (pipeline.query_addr, "rollcall.query.v1.RegistryService"),
    ] {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service}");
    }
    pipeline.stop().await;
}

#[tokio::test]
async fn every_service_binary_stops_cleanly_on_sigterm() {
    let pipeline = Pipeline::start().await;
    for service in [
        "rollcall-gateway",
        "rollcall-validator",
        "rollcall-aggregator",
        "rollcall-query",
    ] {
        let listen = format!("127.0.0.1:{}", crate::harness::free_port());
        let mut child = Command::new(bin(service))
            .env("ROLLCALL__DATABASE__URL", &pipeline.settings.database.url)
            .env("ROLLCALL__KAFKA__BROKERS", &pipeline.settings.kafka.brokers)
            .env(
                "ROLLCALL__KAFKA__TOPICS__FEEDS",
                &pipeline.settings.kafka.topics.feeds,
            )
            .env(
                "ROLLCALL__KAFKA__TOPICS__VALIDATED",
                &pipeline.settings.kafka.topics.validated,
            )
            .env(
                "ROLLCALL__KAFKA__TOPICS__REJECTED",
                &pipeline.settings.kafka.topics.rejected,
            )
            .env("ROLLCALL__GATEWAY__LISTEN", &listen)
            .env("ROLLCALL__QUERY__LISTEN", &listen)
            // Operations listeners on ports of the system's choosing, not the defaults another
            // stack on the machine may hold.
            .env("ROLLCALL__GATEWAY__OPS_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL__VALIDATOR__OPS_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL__AGGREGATOR__OPS_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL__QUERY__OPS_LISTEN", "127.0.0.1:0")
            .env("ROLLCALL__TLS__PLAINTEXT", "true")
            .env("RUST_LOG", "warn")
            .spawn()
            .unwrap();
        // Let it get going (connect, migrate, subscribe) before asking it to stop.
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "{service} exited early"
        );
        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{service} did not stop within 15s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(status.success(), "{service} exited with {status}");
    }
    pipeline.stop().await;
}
