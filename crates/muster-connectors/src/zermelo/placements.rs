//! Class placements (zermelo.md §5–§6): a Grant is one `POST studentsindepartments` with one
//! class id and a numeric `participationWeight`. Placements only add up: no Revoke is
//! offered, and old placements stay when a student changes class.
//!
//! **Duplicates.** A placement POST is not idempotent: sent twice, it places the student twice.
//! It is never repeated blindly (the HTTP layer hands an unknown outcome back as
//! [`ConnectorError::Uncertain`]). With `read_placements`, the student's placements are read
//! again before answering, so a placement that did land is reported done. Without it Muster
//! cannot see placements, the Grant stays uncertain, and the engine's retry may place the
//! student a second time in the same class; that is the price of a tenant whose placements
//! cannot be read, and the run report shows the uncertain Grant.

use super::client::Failure;
use super::connector::Inner;
use super::wire;
use crate::http::Method;
use muster_core::connector::{ConnectorError, Outcome};
use muster_core::{AccountRef, GroupRef};
use tracing::{debug, instrument};

/// What a 404 on a placement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Class,
    Student,
    /// The text does not say.
    Unknown,
}

/// Reads which entity a 404's text names: the class (`DepartmentOfBranch 501 not found`) or
/// the student (`Student 118204 not found`, `User …`). Zermelo's wording is not documented,
/// so anything else is [`Missing::Unknown`] and settled by a read.
pub fn missing_from_text(text: &str) -> Missing {
    let lower = text.to_lowercase();
    if lower.contains("department") || lower.contains("class") {
        Missing::Class
    } else if lower.contains("student") || lower.contains("user") {
        Missing::Student
    } else {
        Missing::Unknown
    }
}

impl Inner {
    /// Places `account` (a user code) in class `group` (a DepartmentOfBranch id).
    #[instrument(skip_all, fields(target = %self.target, account = %account, group = %group))]
    pub(super) async fn grant(
        &self,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<Outcome, ConnectorError> {
        let class = wire::class_id(group).ok_or_else(|| {
            self.config_error(format!(
                "group `{group}` is not a departmentOfBranch id; only classes read from \
                 departmentsofbranches can be granted"
            ))
        })?;
        let body = wire::placement_body(class, account.as_str(), self.participation_weight)
            .map_err(|e| self.config_error(e))?;
        match self
            .client
            .call(Method::POST, "/studentsindepartments", Some(&body))
            .await
        {
            Ok(reply) => {
                let id = reply
                    .into_rows()
                    .first()
                    .and_then(|p| p.get("id"))
                    .and_then(wire::id_text);
                debug!(
                    placement = id.as_deref().unwrap_or("?"),
                    "Placed a student."
                );
                Ok(Outcome::Done)
            }
            Err(Failure::Refused(r)) if r.status == 404 => {
                Err(self.placement_target_gone(account, group, &r.detail).await)
            }
            Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) if self.read_placements => {
                self.settle_uncertain(account, group, e).await
            }
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Decides what a 404 on a placement means: the class or the student is gone. The text
    /// says so where it can; otherwise a `GET students/{code}` does (404 there: the student).
    async fn placement_target_gone(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        detail: &str,
    ) -> ConnectorError {
        debug!(detail, "Placement refused with 404.");
        match missing_from_text(detail) {
            Missing::Class => self.group_gone(group),
            Missing::Student => self.account_gone(account),
            Missing::Unknown => {
                let path = format!("/students/{}", wire::escape(account.as_str()));
                match self.client.call(Method::GET, &path, None).await {
                    Ok(_) => self.group_gone(group),
                    Err(Failure::Refused(r)) if r.status == 404 => self.account_gone(account),
                    Err(f) => f.into_error(&self.target),
                }
            }
        }
    }

    /// After a placement POST with an unknown outcome: the student's placements, read again,
    /// show whether it landed. Still unknown (not there, or the read failed) stays
    /// [`ConnectorError::Uncertain`], and the engine may try again.
    async fn settle_uncertain(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        uncertain: ConnectorError,
    ) -> Result<Outcome, ConnectorError> {
        match self.placements_of(account).await {
            Ok(classes) if classes.iter().any(|c| c == group.as_str()) => {
                debug!("The uncertain placement is there.");
                Ok(Outcome::Done)
            }
            Ok(_) => {
                debug!("The uncertain placement is not there; it may be sent again.");
                Err(with_detail(
                    uncertain,
                    "the student's placements, read again, do not hold it",
                ))
            }
            Err(e) => Err(with_detail(
                uncertain,
                &format!("reading the student's placements again failed: {e}"),
            )),
        }
    }
}

/// `e` with `more` appended to its detail, when it has one.
fn with_detail(e: ConnectorError, more: &str) -> ConnectorError {
    match e {
        ConnectorError::Uncertain {
            target,
            method,
            path,
            detail,
        } => ConnectorError::Uncertain {
            target,
            method,
            path,
            detail: format!("{detail}; {more}"),
        },
        other => other,
    }
}
