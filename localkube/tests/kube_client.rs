//! kube-rs against the emulator: server-side apply (idempotence, ownership
//! conflicts, status), watches with bookmarks and resume, paginated lists.

use std::collections::BTreeMap;
use std::time::Duration;

use chronik_testkit::localkube::Env;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::ResourceExt;
use serde_json::json;

fn cm(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_is_idempotent_and_tracks_owners() {
    let env = Env::start().await;
    let client = env.client().await;
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let sts: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "labels": {"app": "db"}},
        "spec": {"serviceName": "db", "replicas": 3, "selector": {"matchLabels": {"app": "db"}},
                 "template": {"metadata": {"labels": {"app": "db"}},
                              "spec": {"containers": [{"name": "db", "image": "db:1", "ports": [{"containerPort": 5432}]}]}}}
    }))
    .expect("valid StatefulSet");
    let pp = PatchParams::apply("chronik-operator").force();
    let first = api
        .patch("db", &pp, &Patch::Apply(&sts))
        .await
        .expect("first apply");
    let second = api
        .patch("db", &pp, &Patch::Apply(&sts))
        .await
        .expect("second apply");
    assert_eq!(
        first.resource_version(),
        second.resource_version(),
        "a no-op apply must not write"
    );
    assert_eq!(second.metadata.generation, Some(1));
    let mf = second.metadata.managed_fields.clone().unwrap_or_default();
    assert!(mf
        .iter()
        .any(|m| m.manager.as_deref() == Some("chronik-operator")
            && m.operation.as_deref() == Some("Apply")));

    // Another manager setting the same field differently conflicts unless forced.
    let other = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}, "spec": {"replicas": 5}});
    let err = api
        .patch(
            "db",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&other),
        )
        .await
        .expect_err("conflict");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    let forced = api
        .patch(
            "db",
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("forced apply");
    assert_eq!(forced.spec.replicas, Some(5));
    assert_eq!(forced.metadata.generation, Some(2));

    // Dropping a field from the applied config removes it (labels here).
    let mut without_label = sts.clone();
    without_label.metadata.labels = None;
    let mut without_replicas = serde_json::to_value(&without_label).expect("serialises");
    without_replicas["spec"]
        .as_object_mut()
        .map(|s| s.remove("replicas"));
    let after = api
        .patch("db", &pp, &Patch::Apply(&without_replicas))
        .await
        .expect("apply without label");
    assert!(after.labels().is_empty(), "{:?}", after.labels());
    assert_eq!(
        after.spec.replicas,
        Some(5),
        "replicas is owned by someone-else now"
    );

    // Status subresource apply does not touch spec or generation.
    let status = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
                        "status": {"replicas": 3, "readyReplicas": 2, "observedGeneration": 3}});
    let st = api
        .patch_status("db", &pp, &Patch::Apply(&status))
        .await
        .expect("status apply");
    assert_eq!(st.status.as_ref().and_then(|s| s.ready_replicas), Some(2));
    assert_eq!(st.metadata.generation, after.metadata.generation);
    let again = api
        .patch_status("db", &pp, &Patch::Apply(&status))
        .await
        .expect("status apply again");
    assert_eq!(again.resource_version(), st.resource_version());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_concurrency_on_leases() {
    let env = Env::start().await;
    let api: Api<Lease> = Api::namespaced(env.client().await, "default");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}))
        .expect("valid Lease");
    let created = api
        .create(&PostParams::default(), &lease)
        .await
        .expect("create");
    let mut mine = created.clone();
    mine.spec.as_mut().expect("spec").holder_identity = Some("b".into());
    api.replace("leader", &PostParams::default(), &mine)
        .await
        .expect("replace with current rv");
    let err = api
        .replace("leader", &PostParams::default(), &mine)
        .await
        .expect_err("stale rv");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409),
        "{err:?}"
    );
    let err = api
        .create(&PostParams::default(), &lease)
        .await
        .expect_err("exists");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_resume_and_bookmark() {
    let env = Env::start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client().await, "default");
    let start = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    api.create(&PostParams::default(), &cm("a", &[("k", "1")]))
        .await
        .expect("create a");
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "2"}})),
    )
    .await
    .expect("patch a");
    api.create(&PostParams::default(), &cm("other", &[]))
        .await
        .expect("create other");
    api.delete("a", &DeleteParams::default())
        .await
        .expect("delete a");

    // Resume from the list's resourceVersion: the history is replayed in order, filtered by name.
    let wp = WatchParams::default().fields("metadata.name=a").timeout(2);
    let events: Vec<WatchEvent<ConfigMap>> = api
        .watch(&wp, &start)
        .await
        .expect("watch")
        .take(3)
        .try_collect()
        .await
        .expect("events");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);

    // Live events and the initial-events-end bookmark of a streaming list.
    let wp = WatchParams::streaming_lists().timeout(5);
    let mut stream = api.watch(&wp, "0").await.expect("streaming watch").boxed();
    let mut saw_other = false;
    let mut saw_end = false;
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("event in time")
    {
        match ev.expect("event decodes") {
            WatchEvent::Added(o) if o.name_any() == "other" => saw_other = true,
            WatchEvent::Bookmark(b) => {
                saw_end = b
                    .metadata
                    .annotations
                    .contains_key("k8s.io/initial-events-end");
                break;
            }
            _ => {}
        }
    }
    assert!(saw_other && saw_end);
    api.create(&PostParams::default(), &cm("live", &[]))
        .await
        .expect("create live");
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("live event");
    assert!(
        matches!(next, Some(Ok(WatchEvent::Added(ref o))) if o.name_any() == "live"),
        "{next:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paginated_lists_and_label_selectors() {
    let env = Env::start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client().await, "default");
    for i in 0..5 {
        let mut c = cm(&format!("cm-{i}"), &[]);
        c.metadata.labels = Some(
            [(
                "parity".to_string(),
                (if i % 2 == 0 { "even" } else { "odd" }).to_string(),
            )]
            .into(),
        );
        api.create(&PostParams::default(), &c)
            .await
            .expect("create");
    }
    let page = api
        .list(&ListParams::default().limit(2))
        .await
        .expect("page 1");
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().expect("continue token");
    let rest = api
        .list(&ListParams::default().limit(10).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(rest.items.len(), 3);
    assert!(rest.metadata.continue_.is_none());
    let odd = api
        .list(&ListParams::default().labels("parity=odd"))
        .await
        .expect("selector");
    assert_eq!(odd.items.len(), 2);
    let none = api
        .list(&ListParams::default().labels("parity notin (odd,even)"))
        .await
        .expect("selector");
    assert!(none.items.is_empty());
    // A controller-style watcher sees the current state.
    let seen: Vec<ConfigMap> =
        kube::runtime::watcher(api.clone(), kube::runtime::watcher::Config::default())
            .take(7)
            .try_collect::<Vec<_>>()
            .await
            .expect("watcher")
            .into_iter()
            .filter_map(|e| match e {
                kube::runtime::watcher::Event::InitApply(o) => Some(o),
                _ => None,
            })
            .collect();
    assert_eq!(seen.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorder_events_and_series() {
    use k8s_openapi::api::events::v1::Event as K8sEvent;
    use kube::runtime::events::{Event, EventType, Recorder, Reporter};
    let env = Env::start().await;
    let client = env.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let target = cms
        .create(&PostParams::default(), &cm("subject", &[]))
        .await
        .expect("create");
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "test-controller".into(),
            instance: None,
        },
    );
    let ev = Event {
        type_: EventType::Warning,
        reason: "InvalidSpec".into(),
        note: Some("replicas must be odd".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    let reference = kube::Resource::object_ref(&target, &());
    recorder
        .publish(&ev, &reference)
        .await
        .expect("first event");
    recorder
        .publish(&ev, &reference)
        .await
        .expect("repeated event (series patch)");
    let events: Api<K8sEvent> = Api::namespaced(client, "default");
    let list = events.list(&ListParams::default()).await.expect("events");
    assert_eq!(list.items.len(), 1);
    let e = &list.items[0];
    assert_eq!(e.reason.as_deref(), Some("InvalidSpec"));
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(
        e.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("subject")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_transitions_in_watches() {
    let env = Env::start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.client().await, "default");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let wp = WatchParams::default().labels("owned=yes").timeout(5);
    let mut stream = api.watch(&wp, &rv).await.expect("watch").boxed();
    let mut c = cm("x", &[]);
    c.metadata.labels = Some([("owned".to_string(), "no".to_string())].into());
    api.create(&PostParams::default(), &c)
        .await
        .expect("create unlabelled");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"owned": "yes"}}})),
    )
    .await
    .expect("label");
    api.patch(
        "x",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"owned": null}}})),
    )
    .await
    .expect("unlabel");
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("event in time");
        kinds.push(match ev {
            Some(Ok(WatchEvent::Added(_))) => "ADDED",
            Some(Ok(WatchEvent::Deleted(_))) => "DELETED",
            other => panic!("unexpected {other:?}"),
        });
    }
    assert_eq!(kinds, ["ADDED", "DELETED"]);
}
