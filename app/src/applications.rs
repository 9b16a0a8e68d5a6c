//! A team's applications: the client systems that produce and consume, with the compliance
//! facts the bus needs before one may connect.

use crate::apply::CredentialView;
use crate::connect::ClientSettings;
use crate::domain::{
    ApplicationId, EnvironmentName, FieldError, GrantRole, RequestId, TeamSlug, bounded_text,
};
use crate::error::AppError;
use crate::requests::Compliance;
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The registration form as typed. A missing field reads as empty, so its rule names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApplicationInput {
    pub team: String,
    pub name: String,
    pub system_registration_id: String,
    pub security_package_id: String,
    pub fisma_rating: String,
    pub ato_status: String,
    pub ato_date: String,
    pub privacy_assessment: String,
    pub contains_pii: Option<String>,
    pub hosting_location: String,
    pub technical_contact: String,
    pub product_contact: String,
}

impl crate::form_fields::ReadFields for ApplicationInput {
    fn read(fields: &impl crate::form_fields::FormFields) -> Self {
        Self {
            team: fields.text("input[team]"),
            name: fields.text("input[name]"),
            system_registration_id: fields.text("input[system_registration_id]"),
            security_package_id: fields.text("input[security_package_id]"),
            fisma_rating: fields.text("input[fisma_rating]"),
            ato_status: fields.text("input[ato_status]"),
            ato_date: fields.text("input[ato_date]"),
            privacy_assessment: fields.text("input[privacy_assessment]"),
            contains_pii: fields.sent("input[contains_pii]"),
            hosting_location: fields.text("input[hosting_location]"),
            technical_contact: fields.text("input[technical_contact]"),
            product_contact: fields.text("input[product_contact]"),
        }
    }
}

/// A registration that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub team: TeamSlug,
    pub name: String,
    pub system_registration_id: String,
    pub security_package_id: String,
    pub fisma_rating: &'static str,
    pub ato_status: &'static str,
    pub ato_date: Option<NaiveDate>,
    pub privacy_assessment: &'static str,
    pub contains_pii: bool,
    pub hosting_location: &'static str,
    pub technical_contact: String,
    pub product_contact: String,
}

pub const ATO_STATUSES: [(&str, &str); 4] = [
    ("granted", "Granted"),
    ("in_progress", "In progress"),
    ("not_started", "Not started"),
    ("expired", "Expired"),
];
pub const PRIVACY_ASSESSMENTS: [(&str, &str); 4] = [
    ("completed", "Completed"),
    ("in_progress", "In progress"),
    ("not_started", "Not started"),
    ("not_required", "Not required"),
];
pub const HOSTING_LOCATIONS: [(&str, &str); 4] = [
    ("internal_platform", "Internal platform"),
    ("cloud_account", "Cloud account"),
    ("other_cloud", "Other cloud"),
    ("on_premises", "On premises"),
];

fn one_of(
    value: &str,
    choices: &[(&'static str, &'static str)],
    what: &str,
) -> Result<&'static str, String> {
    choices
        .iter()
        .find(|(key, _)| *key == value.trim())
        .map(|(key, _)| *key)
        .ok_or_else(|| format!("choose one of the listed {what}"))
}

fn contact(value: &str, field: &str) -> Result<String, String> {
    let text = bounded_text(value, field, 3, 320)?;
    if !text.contains('@') || text.contains(char::is_whitespace) {
        return Err(format!("{field} is an email address"));
    }
    Ok(text)
}

impl ApplicationInput {
    pub fn parse(&self) -> Result<Application, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut field = |name: &str, result: Result<(), String>| {
            if let Err(message) = result {
                errors.push(FieldError::new(name, message));
            }
        };
        let team = TeamSlug::parse(self.team.trim())
            .map_err(|m| field("Team", Err(m)))
            .ok();
        let name = bounded_text(&self.name, "the name", 2, 80)
            .map_err(|m| field("Name", Err(m)))
            .ok();
        let registration = bounded_text(
            &self.system_registration_id,
            "the system registration id",
            1,
            64,
        )
        .map_err(|m| field("System registration id", Err(m)))
        .ok();
        let package = bounded_text(&self.security_package_id, "the security package id", 1, 64)
            .map_err(|m| field("Security package id", Err(m)))
            .ok();
        let fisma = match self.fisma_rating.trim() {
            "low" => Some("low"),
            "moderate" => Some("moderate"),
            "high" => {
                field(
                    "FISMA rating",
                    Err(crate::domain::HIGH_SENSITIVITY_REFUSAL.into()),
                );
                None
            }
            _ => {
                field("FISMA rating", Err("choose Low or Moderate".into()));
                None
            }
        };
        let ato = one_of(
            &self.ato_status,
            &ATO_STATUSES,
            "authority-to-operate statuses",
        )
        .map_err(|m| field("Authority to operate", Err(m)))
        .ok();
        let ato_date = match self.ato_date.trim() {
            "" => None,
            text => crate::time::parse_date(text)
                .ok_or(())
                .map_err(|()| field("ATO date", Err("use a date like 2026-03-01".into())))
                .ok(),
        };
        if ato == Some("granted") && ato_date.is_none() && self.ato_date.trim().is_empty() {
            field(
                "ATO date",
                Err("a granted authority to operate has a date".into()),
            );
        }
        let privacy = one_of(
            &self.privacy_assessment,
            &PRIVACY_ASSESSMENTS,
            "privacy assessment statuses",
        )
        .map_err(|m| field("Privacy assessment", Err(m)))
        .ok();
        let hosting = one_of(
            &self.hosting_location,
            &HOSTING_LOCATIONS,
            "hosting locations",
        )
        .map_err(|m| field("Hosting", Err(m)))
        .ok();
        let technical = contact(&self.technical_contact, "the technical contact")
            .map_err(|m| field("Technical contact", Err(m)))
            .ok();
        let product = contact(&self.product_contact, "the product contact")
            .map_err(|m| field("Product contact", Err(m)))
            .ok();
        match (
            team,
            name,
            registration,
            package,
            fisma,
            ato,
            privacy,
            hosting,
            technical,
            product,
        ) {
            (
                Some(team),
                Some(name),
                Some(system_registration_id),
                Some(security_package_id),
                Some(fisma_rating),
                Some(ato_status),
                Some(privacy_assessment),
                Some(hosting_location),
                Some(technical_contact),
                Some(product_contact),
            ) if errors.is_empty() => Ok(Application {
                team,
                name,
                system_registration_id,
                security_package_id,
                fisma_rating,
                ato_status,
                ato_date,
                privacy_assessment,
                contains_pii: self.contains_pii.is_some(),
                hosting_location,
                technical_contact,
                product_contact,
            }),
            _ => Err(errors),
        }
    }
}

/// One grant an application holds, as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantView {
    /// The approved request the grant came from.
    pub request: RequestId,
    pub environment: EnvironmentName,
    pub role: GrantRole,
    pub topic: String,
    pub consumer_group: Option<String>,
    pub consumer_group_is_prefix: bool,
    #[serde(with = "crate::time::iso_date_option")]
    pub expires_on: Option<NaiveDate>,
    /// What it allows, in words.
    pub in_words: String,
}

/// An application's page: its compliance facts, what it may do on the bus, and (for its team)
/// its Kafka users, their passwords and how to connect, per environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetail {
    pub id: ApplicationId,
    pub name: String,
    pub team: String,
    #[serde(with = "crate::time::rfc3339")]
    pub registered_at: DateTime<Utc>,
    pub compliance: Compliance,
    /// Live grants, by environment and topic.
    pub grants: Vec<GrantView>,
    /// Its Kafka user in each environment it has one in.
    pub credentials: Vec<CredentialView>,
    /// For its team: a client configuration per live grant, and those drawn as the page shows
    /// them.
    pub connections: crate::loaded::NotHydrated<Vec<ClientSettings>>,
    pub connect: crate::loaded::Markup,
    /// The caller belongs to its team and may ask for access on its behalf.
    pub is_own: bool,
}

/// An application's page. Its team, governance approvers and admins see it, and team approvers
/// whose topics it has asked for; to anyone else it does not exist.
#[server(prefix = "/api", endpoint = "applications/get")]
pub async fn get_application(id: ApplicationId) -> Result<ApplicationDetail, AppError> {
    let user = crate::auth::ssr::require_any_role(&crate::domain::Role::ALL).await?;
    let portal = crate::context::portal()?;
    store::detail(&portal, &user, id)
        .await
        .map_err(AppError::from)
}

/// Registers an application for one of the caller's teams.
#[server(prefix = "/api", endpoint = "applications/register")]
pub async fn register_application(
    input: ApplicationInput,
) -> Result<crate::domain::ApplicationId, AppError> {
    use crate::auth::ssr::{require_any_role, with_status};
    let user = require_any_role(&[crate::domain::Role::Member]).await?;
    let application = input
        .parse()
        .map_err(|e| with_status(AppError::Invalid(e)))?;
    if !user.teams.contains(&application.team) {
        return Err(with_status(AppError::invalid(
            "Team",
            "choose one of your teams",
        )));
    }
    let db = crate::context::db()?;
    let id = store::register(&db, &user.subject, &application)
        .await
        .map_err(with_status)?;
    leptos_axum::redirect(&format!("/requests/applications/{id}"));
    Ok(id)
}

#[cfg(feature = "ssr")]
pub mod store;

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ApplicationInput {
        ApplicationInput {
            team: "claims-status".into(),
            name: "Claim Letters".into(),
            system_registration_id: "SR-1".into(),
            security_package_id: "SP-1".into(),
            fisma_rating: "moderate".into(),
            ato_status: "granted".into(),
            ato_date: "2026-03-01".into(),
            privacy_assessment: "completed".into(),
            contains_pii: Some("1".into()),
            hosting_location: "cloud_account".into(),
            technical_contact: "dev@example.test".into(),
            product_contact: "owner@example.test".into(),
        }
    }

    fn fields(input: ApplicationInput) -> Vec<String> {
        input
            .parse()
            .expect_err("must be refused")
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_complete_registration_parses() {
        let app = valid().parse().expect("valid");
        assert_eq!(app.fisma_rating, "moderate");
        assert!(app.contains_pii);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (
                ApplicationInput {
                    team: "Claims Status".into(),
                    ..valid()
                },
                "Team",
            ),
            (
                ApplicationInput {
                    name: "x".into(),
                    ..valid()
                },
                "Name",
            ),
            (
                ApplicationInput {
                    fisma_rating: "high".into(),
                    ..valid()
                },
                "FISMA rating",
            ),
            (
                ApplicationInput {
                    ato_status: "maybe".into(),
                    ..valid()
                },
                "Authority to operate",
            ),
            (
                ApplicationInput {
                    ato_date: "".into(),
                    ..valid()
                },
                "ATO date",
            ),
            (
                ApplicationInput {
                    hosting_location: "moon".into(),
                    ..valid()
                },
                "Hosting",
            ),
            (
                ApplicationInput {
                    technical_contact: "not an email".into(),
                    ..valid()
                },
                "Technical contact",
            ),
            (
                ApplicationInput {
                    system_registration_id: "x".repeat(65),
                    ..valid()
                },
                "System registration id",
            ),
        ];
        for (input, field) in cases {
            assert_eq!(fields(input.clone()), vec![field.to_owned()], "{input:?}");
        }
    }

    #[test]
    fn high_rated_systems_are_refused_with_the_reason() {
        let errors = ApplicationInput {
            fisma_rating: "high".into(),
            ..valid()
        }
        .parse()
        .expect_err("refused");
        assert!(errors[0].message.contains("not a fit for the event bus"));
    }
}
