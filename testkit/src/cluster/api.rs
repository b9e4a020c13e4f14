//! A [`TestCluster`]'s nodes through their HTTP API, read as `chronik_api`
//! types: status, leader, key-value writes and reads, membership changes,
//! partition groups. Calls go to [`TestCluster::api`]: the admin port with
//! the operator's certificate when the cluster runs with peer TLS.

use chronik_api::{AddMemberRequest, BrokerStatus, GroupsSummary, MemberRole};
use serde_json::Value;
use std::time::{Duration, Instant};

use super::TestCluster;

impl TestCluster {
    /// `GET /v1/status` of node `id`; `None` when it does not answer.
    pub async fn status(&self, id: u64) -> Option<BrokerStatus> {
        let url = format!("{}/v1/status", self.api(id));
        let r = self.client.get(url).send().await.ok()?;
        r.json().await.ok()
    }

    /// Whether node `id`'s `/readyz` answers 2xx.
    pub async fn ready(&self, id: u64) -> bool {
        (200..300).contains(&self.readyz(id).await.0)
    }

    /// Waits until every node of `ids` answers `/readyz` with 200; panics
    /// with the last reason after `timeout`.
    pub async fn wait_ready(&self, ids: &[u64], timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in ids {
            loop {
                let (code, reason) = self.readyz(*id).await;
                if code == 200 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {id} not ready after {timeout:?}: {code} {reason}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// `/readyz` of node `id`: the status code and the reason (0 and an
    /// empty reason when it does not answer).
    pub async fn readyz(&self, id: u64) -> (u16, String) {
        let url = format!("{}/readyz", self.specs[&id].http());
        let Ok(r) = self.client.get(url).send().await else {
            return (0, String::new());
        };
        let code = r.status().as_u16();
        (code, r.text().await.unwrap_or_default())
    }

    /// The first node of `among` that answers as the leader.
    pub async fn leader(&self, among: &[u64]) -> Option<u64> {
        for id in among {
            if self.status(*id).await.is_some_and(|s| s.is_leader()) {
                return Some(*id);
            }
        }
        None
    }

    /// Waits for a node of `among` to lead; fails the test after `timeout`.
    pub async fn wait_leader(&self, among: &[u64], timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader(among).await {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no leader among {among:?} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Writes through node `via`; Ok(index) once committed and applied.
    pub async fn put_via(&self, via: u64, key: &str, value: &str) -> Result<u64, String> {
        let url = format!("{}/v1/kv/{key}", self.api(via));
        let r = self
            .client
            .put(url)
            .body(value.to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let code = r.status();
        let body: Value = r.json().await.map_err(|e| e.to_string())?;
        if code.is_success() {
            Ok(body["index"].as_u64().unwrap_or(0))
        } else {
            Err(format!("{code}: {body}"))
        }
    }

    /// Writes through whichever live node leads, retrying until `timeout`.
    pub async fn put(&self, key: &str, value: &str, timeout: Duration) -> Result<u64, String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::from("no attempt");
        while Instant::now() < deadline {
            if let Some(l) = self.leader(&self.running()).await {
                match self.put_via(l, key, value).await {
                    Ok(i) => return Ok(i),
                    Err(e) => last = e,
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(last)
    }

    /// The value of `key` as node `id` has applied it.
    pub async fn get(&self, id: u64, key: &str) -> Option<String> {
        let url = format!("{}/v1/kv/{key}", self.api(id));
        let r = self.client.get(url).send().await.ok()?;
        if !r.status().is_success() {
            return None;
        }
        r.text().await.ok()
    }

    /// Waits until every node in `ids` has applied at least `index`.
    pub async fn wait_applied(&self, ids: &[u64], index: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in ids {
            loop {
                let applied = self.status(*id).await.map_or(0, |s| s.applied_index);
                if applied >= index {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {id} applied {applied}, expected {index} within {timeout:?}"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }

    /// (id, role) of every member as node `id` sees the configuration.
    pub async fn members(&self, id: u64) -> Vec<(u64, MemberRole)> {
        self.status(id)
            .await
            .map(|s| s.members.iter().map(|m| (m.id, m.role)).collect())
            .unwrap_or_default()
    }

    /// `POST /v1/members` on node `via`: add node `id`, at its planned Raft
    /// URL, as a learner.
    pub async fn add_learner(&self, via: u64, id: u64) -> reqwest::Response {
        let request = AddMemberRequest {
            id,
            url: self.specs[&id].raft_url(),
        };
        self.client
            .post(format!("{}/v1/members", self.api(via)))
            .json(&request)
            .send()
            .await
            .expect("add learner")
    }

    /// `POST /v1/members/<id>/promote` on node `via`.
    pub async fn promote(&self, via: u64, id: u64) -> reqwest::Response {
        self.client
            .post(format!("{}/v1/members/{id}/promote", self.api(via)))
            .send()
            .await
            .expect("promote")
    }

    /// `DELETE /v1/members/<id>` on node `via`.
    pub async fn remove_member(&self, via: u64, id: u64) -> reqwest::Response {
        self.client
            .delete(format!("{}/v1/members/{id}", self.api(via)))
            .send()
            .await
            .expect("remove member")
    }

    /// The partition groups on node `id` (`groups` of its status).
    pub async fn groups(&self, id: u64) -> Option<GroupsSummary> {
        Some(self.status(id).await?.groups)
    }

    /// Waits until every node in `ids` has `total` partition groups, all
    /// matching the metadata membership.
    pub async fn wait_groups_converged(&self, ids: &[u64], total: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for id in ids {
            loop {
                let g = self.groups(*id).await;
                if g.as_ref()
                    .is_some_and(|g| g.total == total && g.unconverged == 0)
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {id}: groups {g:?} did not converge to {total} within {timeout:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
