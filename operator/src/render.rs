//! `chronik-operator render`: the objects the operator would apply, without a cluster.

use crate::build::build_all;
use crate::crd::ChronikCluster;
use crate::validate::{validate, ValidationError};

/// UID used when the rendered CR was never stored by an API server.
pub const PLACEHOLDER_UID: &str = "00000000-0000-0000-0000-000000000000";

/// Why rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("parsing document {index}: {source}")]
    Parse {
        index: usize,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("document {index} is a {kind}, not a ChronikCluster")]
    NotAChronikCluster { index: usize, kind: String },
    #[error("{name}: {source}")]
    Invalid {
        name: String,
        #[source]
        source: ValidationError,
    },
    #[error("serializing: {0}")]
    Serialize(String),
    #[error("no ChronikCluster in the input")]
    Empty,
}

/// Render every ChronikCluster of a (multi-document) YAML text into the
/// multi-document YAML of the objects the controller would apply.
pub fn render(yaml: &str, default_namespace: &str) -> Result<String, RenderError> {
    let mut out = String::new();
    let mut count = 0;
    for (index, document) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value = serde_yaml::Value::deserialize_from(document, index)?;
        if value.is_null() {
            continue;
        }
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("object without kind")
            .to_string();
        if kind != "ChronikCluster" {
            return Err(RenderError::NotAChronikCluster { index, kind });
        }
        let mut cluster: ChronikCluster =
            serde_yaml::from_value(value).map_err(|source| RenderError::Parse { index, source })?;
        let meta = &mut cluster.metadata;
        meta.namespace
            .get_or_insert_with(|| default_namespace.to_string());
        meta.uid.get_or_insert_with(|| PLACEHOLDER_UID.to_string());
        let validated = validate(&cluster).map_err(|source| RenderError::Invalid {
            name: cluster.metadata.name.clone().unwrap_or_default(),
            source,
        })?;
        let values = build_all(&validated)
            .to_values()
            .map_err(|e| RenderError::Serialize(e.to_string()))?;
        for value in values {
            out.push_str("---\n");
            out.push_str(
                &serde_yaml::to_string(&value)
                    .map_err(|e| RenderError::Serialize(e.to_string()))?,
            );
        }
        count += 1;
    }
    if count == 0 {
        return Err(RenderError::Empty);
    }
    Ok(out)
}

trait DeserializeDocument {
    fn deserialize_from(
        document: serde_yaml::Deserializer<'_>,
        index: usize,
    ) -> Result<serde_yaml::Value, RenderError>;
}

impl DeserializeDocument for serde_yaml::Value {
    fn deserialize_from(
        document: serde_yaml::Deserializer<'_>,
        index: usize,
    ) -> Result<Self, RenderError> {
        use serde::Deserialize;
        Self::deserialize(document).map_err(|source| RenderError::Parse { index, source })
    }
}
