//! The consumer group coordinator's link to the backend: group records are
//! stored through [`Backend::store_group`], and a broker that becomes the
//! coordinator loads every stored group before it answers a group request
//! (as a Kafka coordinator loads its `__consumer_offsets` partitions).

use std::sync::Arc;

use kafka_protocol::ResponseError;

use super::Handlers;
use crate::backend::{Backend, StoredGroup};
use crate::group::{GroupStore, StoreFuture};

/// [`GroupStore`] over a backend.
pub(super) struct BackendGroups<B>(pub(super) Arc<B>);

impl<B: Backend> GroupStore for BackendGroups<B> {
    fn store(&self, epoch: u64, group: StoredGroup) -> StoreFuture {
        let backend = Arc::clone(&self.0);
        Box::pin(async move {
            backend
                .store_group(epoch, group)
                .await
                .map_err(|e| e.response_error())
        })
    }
}

impl<B: Backend> Handlers<B> {
    /// Loads the stored groups when this broker coordinates at an epoch it
    /// has not loaded yet (`NOT_COORDINATOR` when it coordinates none,
    /// `COORDINATOR_LOAD_IN_PROGRESS` while the backend is catching up).
    pub(super) async fn ensure_groups_loaded(&self) -> Result<(), ResponseError> {
        let epoch = self
            .backend
            .coordinator_epoch()
            .ok_or(ResponseError::NotCoordinator)?;
        if self.groups.loaded_epoch() == Some(epoch) {
            return Ok(());
        }
        let _loading = self.group_load.lock().await;
        if self.groups.loaded_epoch() == Some(epoch) {
            return Ok(());
        }
        let loaded = self
            .backend
            .load_groups()
            .await
            .map_err(|e| e.response_error())?;
        tracing::info!(
            epoch = loaded.epoch,
            groups = loaded.groups.len(),
            "loaded consumer groups as their coordinator"
        );
        self.groups.load(loaded.epoch, loaded.groups);
        Ok(())
    }

    /// Whether this broker coordinates groups now (every group has the same
    /// coordinator in Chronik's backends), with the groups loaded.
    pub(super) async fn coordinates_groups(&self) -> bool {
        self.check_coordinator("").await.is_ok()
    }
}
