//! The authorization flags (`--authorizer`, `--super-users`,
//! `--allow-everyone-if-no-acl-found`, Kafka's `authorizer.class.name`,
//! `super.users` and `allow.everyone.if.no.acl.found`) and the settings they
//! give the Kafka front end.

use chronik_api::security::Principal;
use chronik_kafka::authz::{AuthorizerKind, AuthzConfig};
use clap::{Args, ValueEnum};

/// Which authorizer the Kafka listeners use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum AuthorizerFlag {
    /// Every request is allowed.
    #[default]
    None,
    /// Kafka's ACL authorizer over the replicated ACLs.
    Simple,
}

/// Principals separated by `;`, as Kafka's `super.users` (`User:a;User:b`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuperUsers(pub Vec<Principal>);

impl std::str::FromStr for SuperUsers {
    type Err = chronik_api::security::InvalidPrincipal;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// Authorization flags of a broker node.
#[derive(Debug, Clone, Args)]
pub struct AuthzArgs {
    /// Authorizer of Kafka requests: `none` allows everything, `simple`
    /// checks Kafka ACLs (created with CreateAcls or POST /v1/acls).
    #[arg(long, env = "CHRONIK_AUTHORIZER", value_enum, default_value = "none")]
    pub authorizer: AuthorizerFlag,
    /// Principals allowed everything, separated by `;` (`User:admin;User:CN=ops`).
    #[arg(long, env = "CHRONIK_SUPER_USERS", default_value = "")]
    pub super_users: SuperUsers,
    /// Allow requests on resources no ACL names (Kafka's
    /// `allow.everyone.if.no.acl.found`).
    #[arg(long, env = "CHRONIK_ALLOW_EVERYONE_IF_NO_ACL_FOUND")]
    pub allow_everyone_if_no_acl_found: bool,
}

impl AuthzArgs {
    /// The front end's authorizer settings.
    pub fn config(&self) -> AuthzConfig {
        AuthzConfig {
            kind: match self.authorizer {
                AuthorizerFlag::None => AuthorizerKind::None,
                AuthorizerFlag::Simple => AuthorizerKind::Simple,
            },
            super_users: self.super_users.0.clone(),
            allow_everyone_if_no_acl_found: self.allow_everyone_if_no_acl_found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        authz: AuthzArgs,
    }

    #[test]
    fn flags_parse_as_kafka_settings() {
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.authz.config(), AuthzConfig::default());
        let cli = Cli::parse_from([
            "x",
            "--authorizer",
            "simple",
            "--super-users",
            "User:admin; User:CN=ops",
            "--allow-everyone-if-no-acl-found",
        ]);
        let config = cli.authz.config();
        assert_eq!(config.kind, AuthorizerKind::Simple);
        assert_eq!(
            config.super_users,
            [Principal::user("admin"), Principal::from_common_name("ops")]
        );
        assert!(config.allow_everyone_if_no_acl_found);
        assert!(Cli::try_parse_from(["x", "--super-users", "admin"]).is_err());
    }
}
