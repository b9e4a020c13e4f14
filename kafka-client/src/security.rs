//! How the client connects: librdkafka's `security.protocol`, SASL and TLS
//! settings, shared by every subcommand.
//!
//! TLS keeps librdkafka's default verification: the broker's certificate
//! must chain to `--ssl-ca-location` and name the host the client dialled
//! (`ssl.endpoint.identification.algorithm=https`). Chronik's brokers name
//! their headless DNS names, the client Service and the external addresses
//! they advertise, so every address a client learns from the cluster
//! verifies; dialling an address the certificate does not name (such as
//! `127.0.0.1:<nodePort>`) fails the handshake, so bootstrap through the
//! advertised node address instead.

use rdkafka::config::ClientConfig;

/// librdkafka's `security.protocol`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no authentication.
    #[default]
    Plaintext,
    /// TLS.
    Ssl,
    /// SASL without TLS.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    fn sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// Security options of every subcommand.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecurityArgs {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    #[arg(
        long,
        value_enum,
        default_value = "PLAINTEXT",
        env = "KAFKA_SECURITY_PROTOCOL"
    )]
    pub security_protocol: SecurityProtocol,
    /// SASL mechanism (`SCRAM-SHA-512`, `SCRAM-SHA-256`, `PLAIN`).
    #[arg(long, default_value = "SCRAM-SHA-512", env = "KAFKA_SASL_MECHANISM")]
    pub sasl_mechanism: String,
    /// SASL user name.
    #[arg(long, env = "KAFKA_SASL_USERNAME")]
    pub sasl_username: Option<String>,
    /// SASL password (better from the environment, e.g. a pod's
    /// `secretKeyRef`, than on the command line).
    #[arg(long, env = "KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub sasl_password: Option<String>,
    /// PEM file of the CA(s) the brokers' certificates must chain to.
    #[arg(long, env = "KAFKA_SSL_CA_LOCATION")]
    pub ssl_ca_location: Option<String>,
    /// PEM file of the client certificate (mutual TLS).
    #[arg(long, env = "KAFKA_SSL_CERTIFICATE_LOCATION")]
    pub ssl_certificate_location: Option<String>,
    /// PEM file of the client certificate's key (mutual TLS).
    #[arg(long, env = "KAFKA_SSL_KEY_LOCATION")]
    pub ssl_key_location: Option<String>,
}

impl SecurityArgs {
    /// Sets the librdkafka properties these options name.
    pub fn apply(&self, config: &mut ClientConfig) {
        config.set("security.protocol", self.security_protocol.name());
        if self.security_protocol.sasl() {
            config.set("sasl.mechanism", &self.sasl_mechanism);
        }
        let optional = [
            ("sasl.username", &self.sasl_username),
            ("sasl.password", &self.sasl_password),
            ("ssl.ca.location", &self.ssl_ca_location),
            ("ssl.certificate.location", &self.ssl_certificate_location),
            ("ssl.key.location", &self.ssl_key_location),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                config.set(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_sets_only_the_protocol() {
        let mut config = ClientConfig::new();
        SecurityArgs::default().apply(&mut config);
        assert_eq!(config.get("security.protocol"), Some("PLAINTEXT"));
        assert_eq!(config.get("sasl.mechanism"), None);
        assert_eq!(config.get("ssl.ca.location"), None);
    }

    #[test]
    fn sasl_ssl_passes_every_setting_to_librdkafka() {
        let args = SecurityArgs {
            security_protocol: SecurityProtocol::SaslSsl,
            sasl_mechanism: "SCRAM-SHA-512".into(),
            sasl_username: Some("app".into()),
            sasl_password: Some("secret".into()),
            ssl_ca_location: Some("/etc/user/ca.crt".into()),
            ssl_certificate_location: None,
            ssl_key_location: None,
        };
        let mut config = ClientConfig::new();
        args.apply(&mut config);
        assert_eq!(config.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("app"));
        assert_eq!(config.get("sasl.password"), Some("secret"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/user/ca.crt"));
        // librdkafka's default: the certificate must name the host.
        assert_eq!(config.get("ssl.endpoint.identification.algorithm"), None);
    }
}
