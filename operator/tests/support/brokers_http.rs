//! Loopback HTTP servers standing in for brokers, and the addresses of a
//! follower and a leader among them, shared by the `HttpBrokers` tests.
// Every test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use chronik_api::NodeId;
use chronik_operator::addresses::MemberAddresses;
use chronik_operator::brokers::HttpBrokers;

/// Node 1 (a follower) and node 2 (the leader) at their loopback URLs.
pub struct Two {
    pub follower: String,
    pub leader: String,
}

impl MemberAddresses for Two {
    fn pod_of(&self, id: NodeId) -> String {
        format!("pod-{}", id.0)
    }
    fn raft_url_of(&self, id: NodeId) -> String {
        format!("http://raft-{}", id.0)
    }
    fn http_url_of(&self, id: NodeId) -> String {
        if id.0 == 2 {
            self.leader.clone()
        } else {
            self.follower.clone()
        }
    }
}

/// Serves `app` on a free loopback port; its URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// The broker client with 2 s connect and request timeouts.
pub fn brokers() -> HttpBrokers {
    HttpBrokers::new(Duration::from_secs(2), Duration::from_secs(2)).expect("client")
}
