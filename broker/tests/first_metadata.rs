//! The first Kafka calls to a cluster that has just formed: a Metadata
//! request for no topics ("brokers only", librdkafka's admin client's first
//! call) names the answering broker and the controller, and confluent-kafka's
//! `AdminClient.create_topics` as the first call completes instead of hanging.
//! Several fresh clusters, because the window is the moment right after the
//! first election.

mod support;

use chronik_testkit::python::run_script;
use std::time::{Duration, Instant};
use support::raw_kafka::metadata_brokers_only;
use support::TestCluster;
use tokio::net::TcpStream;

const ROUNDS: u64 = 3;

async fn connect(addr: &str) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(addr).await {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("connect {addr}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn brokers_only_metadata_names_itself_and_the_controller_from_the_first_answer() {
    for round in 0..ROUNDS {
        let c = TestCluster::start(3);
        // Ask every broker as soon as its Kafka port accepts, before any
        // readiness: the answer waits for the registrations it needs.
        for id in 1..=3 {
            let mut conn = connect(&c.kafka(id)).await;
            let answer = metadata_brokers_only(&mut conn).await;
            let me = i32::try_from(id).expect("id");
            assert!(
                answer.brokers.contains(&me),
                "round {round}: broker {id} left itself out: {answer:?}"
            );
            assert!(
                answer.controller > 0 && answer.brokers.contains(&answer.controller),
                "round {round}: broker {id} named no listed controller: {answer:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_create_topics_as_the_first_call_completes() {
    for round in 0..ROUNDS {
        let c = TestCluster::start(3);
        // The first call goes to a broker right after the cluster's first
        // leader is known, the moment the admin client hung before.
        c.wait_leader(&[1, 2, 3], Duration::from_secs(20)).await;
        let via = 1 + round % 3;
        let topic = format!("first-call-{round}");
        let out = run_script(
            "first_admin_call.py",
            &["--bootstrap", &c.kafka(via), "--topic", &topic],
        );
        assert!(out.contains(&format!("OK created {topic}")), "{out}");
        for id in 1..=3 {
            let (code, reason) = c.readyz(id).await;
            assert_eq!(
                code, 200,
                "broker {id} not ready after the first call: {reason}"
            );
        }
    }
}
