//! The dashboard over HTTP without the rest of the stack (the browser tests in `tests/web/` drive
//! it against the real one): what a visitor who is not signed in gets, the CSRF refusal, the
//! headers every response carries, and the TLS listener.

use std::time::Duration;

use rollcall_web::Settings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The dashboard on a free port, calling a query service that is not there.
async fn start(configure: impl FnOnce(&mut Settings)) -> (String, CancellationToken) {
    let mut settings = Settings::defaults();
    settings.tls.plaintext = true;
    let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
    settings.web.query_url = format!("http://{}", unused.local_addr().unwrap());
    drop(unused);
    configure(&mut settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let scheme = if settings.tls.plaintext {
        "http"
    } else {
        "https"
    };
    let stop = CancellationToken::new();
    let ops = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(rollcall_web::serve(
        settings,
        rollcall_server::ops::Listeners { api: listener, ops },
        stop.clone(),
    ));
    (format!("{scheme}://localhost:{}", addr.port()), stop)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_visitor_is_sent_to_sign_in_and_a_form_without_its_token_is_refused() {
    let (base, stop) = start(|_| {}).await;
    let http = client();
    let page = http.get(format!("{base}/las/937")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/sign-in");
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );

    let sign_in = http.get(format!("{base}/sign-in")).send().await.unwrap();
    assert_eq!(sign_in.status(), 200);
    let cookie = sign_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http on loopback: {cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    let html = sign_in.text().await.unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"en\""),
        "{html}"
    );
    assert!(
        !html.contains("organisation's account"),
        "no identity provider configured"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();

    let without = http
        .post(format!("{base}/sign-in/key"))
        .header("cookie", &session)
        .form(&[("api_key", "rc_0000000000000000_00")])
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 403);
    assert!(
        without
            .text()
            .await
            .unwrap()
            .contains("This form has expired")
    );
    // With its token the key reaches the query service, which is not there.
    let with = http
        .post(format!("{base}/sign-in/key"))
        .header("cookie", &session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("api_key", "rc_0000000000000000_00"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 503);
    assert!(
        with.text()
            .await
            .unwrap()
            .contains("Sign-in is not working at the moment")
    );

    let missing = http.get(format!("{base}/nowhere")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let css = http
        .get(format!("{base}/assets/rollcall.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    stop.cancel();
}

#[tokio::test]
async fn over_tls_the_dashboard_answers_with_its_certificate() {
    let dir = std::env::temp_dir().join(format!("rollcall-web-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (base, stop) = start(|s| {
        s.tls.plaintext = false;
        s.tls.cert = cert.clone();
        s.tls.key = key.clone();
        s.web.public_url = "https://localhost".into();
    })
    .await;
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(format!("{base}/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "an unknown certificate is refused"
    );
    stop.cancel();
    std::fs::remove_dir_all(&dir).ok();
}
