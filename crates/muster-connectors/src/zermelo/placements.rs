//! Class placements (zermelo.md §5–§6): a Grant is one `POST studentsindepartments` with one
//! class id and a numeric `participationWeight`, sent only when the student record does not
//! already list a placement in that class. A Revoke (only with `previous_class = "delete"`)
//! deletes the student's placements in one class, `DELETE studentsindepartments/{id}` each,
//! ids taken from the student record.
//!
//! **Duplicates.** A placement POST is not idempotent: sent twice, it places the student twice.
//! It is never repeated blindly (the HTTP layer hands an unknown outcome back as
//! [`ConnectorError::Uncertain`]), and an uncertain one is settled by a read before it is
//! answered:
//!
//! - with `read_placements`, the student's placements (`GET studentsindepartments?student=`)
//!   are read again; a placement in the class means it landed;
//! - without it, the student record (`GET students/{code}?fields=studentInDepartments`, the
//!   read a create already relies on, so no tenant switch is needed) is read *before* the
//!   POST to note the placement ids the student holds, and again after an unknown outcome;
//!   an id that was not there before (and, when the entry names its class, in this class)
//!   means it landed. The extra GET per Grant is the price of not placing a student twice
//!   in the same class on the next run.
//!
//! A placement found is [`Outcome::Done`]; none keeps the Grant uncertain, with what the read
//! showed in its detail, and the engine may send it again. Only when a read itself fails (or
//! the record lists placements in a shape Muster cannot read) does it stay uncertain without
//! that knowledge, and an engine retry may then place the student twice; the run report shows
//! the uncertain Grant.

use super::client::Failure;
use super::connector::Inner;
use super::wire;
use crate::common::TargetErrors as _;
use crate::http::Method;
use muster_core::connector::{ConnectorError, Outcome};
use muster_core::{AccountRef, GroupRef};
use std::collections::BTreeMap;
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
        // Without `read_placements`, what the student holds before the POST is what an
        // unknown outcome is compared with. A failed read only costs that comparison.
        let before = if self.read_placements {
            None
        } else {
            match self.student_placements(account).await {
                Ok(held) => Some(held),
                Err(e) => {
                    debug!(error = %e, "Could not note the student's placements before placing.");
                    None
                }
            }
        };
        // Never a second placement in one class: the plan may be older than the record.
        let class_text = class.to_string();
        if let Some(id) = before.as_ref().and_then(|b| placement_in(b, &class_text)) {
            debug!(placement = %id, "The student is already placed in this class.");
            return Ok(Outcome::Done);
        }
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
            Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => match before {
                Some(before) => self.settle_by_student(account, class, &before, e).await,
                None => Err(e),
            },
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
                Err(uncertain
                    .with_uncertain_detail("the student's placements, read again, do not hold it"))
            }
            Err(e) => Err(uncertain.with_uncertain_detail(&format!(
                "reading the student's placements again failed: {e}"
            ))),
        }
    }

    /// The placements `account`'s student record lists:
    /// `GET students/{code}?fields=studentInDepartments`. `Err` says why they are not known
    /// (the request failed, the student is not found, or the list cannot be read).
    async fn student_placements(
        &self,
        account: &AccountRef,
    ) -> Result<BTreeMap<String, Option<String>>, String> {
        let path = format!(
            "/students/{}?{}",
            wire::escape(account.as_str()),
            wire::fields_query(&[wire::STUDENT_IN_DEPARTMENTS])
        );
        let rows = match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => reply.into_rows(),
            Err(f) => return Err(f.into_error(&self.target).to_string()),
        };
        let student = rows
            .first()
            .ok_or("GET /students/{code} answered without a student record")?;
        wire::student_placements(student).map_err(|e| format!("GET /students/{{code}}: {e}"))
    }

    /// After a placement POST with an unknown outcome, without `read_placements`: the student
    /// record, read again, shows whether a placement appeared that `before` (read just before
    /// the POST) did not hold. One in another class (the entry names it) is someone else's.
    /// Nothing new, or a failed read, stays [`ConnectorError::Uncertain`], with that in its
    /// detail.
    async fn settle_by_student(
        &self,
        account: &AccountRef,
        class: u64,
        before: &BTreeMap<String, Option<String>>,
        uncertain: ConnectorError,
    ) -> Result<Outcome, ConnectorError> {
        let after = match self.student_placements(account).await {
            Ok(after) => after,
            Err(e) => {
                return Err(uncertain.with_uncertain_detail(&format!(
                    "reading the student record again failed: {e}"
                )))
            }
        };
        let class = class.to_string();
        let new = after.iter().find(|(id, in_class)| {
            !before.contains_key(*id) && in_class.as_ref().map_or(true, |c| *c == class)
        });
        match new {
            Some((id, _)) => {
                debug!(
                    placement = %id,
                    "The uncertain placement landed: the student record holds a placement id it \
                     did not hold before the POST."
                );
                Ok(Outcome::Done)
            }
            None => {
                debug!(
                    "The uncertain placement is not in the student record; it may be sent again."
                );
                Err(uncertain.with_uncertain_detail(
                    "the student record, read again, lists no placement that was not there \
                     before the POST",
                ))
            }
        }
    }
}

impl Inner {
    /// Ends `account`'s placements in class `group` (`previous_class = "delete"`): the student
    /// record names them, and each is deleted. None there is [`Outcome::AlreadyAbsent`]. A
    /// record that lists placements without their class cannot say which to delete, and a
    /// tenant that refuses the DELETE fails this Revoke only, with what to set instead.
    #[instrument(skip_all, fields(target = %self.target, account = %account, group = %group))]
    pub(super) async fn revoke(
        &self,
        account: &AccountRef,
        group: &GroupRef,
    ) -> Result<Outcome, ConnectorError> {
        let held = self
            .student_placements(account)
            .await
            .map_err(|e| self.protocol(format!("cannot end the placement in {group}: {e}")))?;
        let class = group.as_str();
        let ids: Vec<&String> = held
            .iter()
            .filter(|(_, c)| c.as_deref() == Some(class))
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            if held.values().any(Option::is_none) {
                return Err(self.protocol(format!(
                    "the student record lists placements without their class, so the one in \
                     {group} cannot be told apart; set previous_class = \"keep\""
                )));
            }
            return Ok(Outcome::AlreadyAbsent);
        }
        for id in ids {
            self.delete_placement(id).await?;
        }
        Ok(Outcome::Done)
    }

    /// `DELETE studentsindepartments/{id}`; a 404 is already gone. A 403 is this tenant not
    /// allowing it, not a refused token: it fails the Revoke, not the run.
    async fn delete_placement(&self, id: &str) -> Result<(), ConnectorError> {
        let path = format!("/studentsindepartments/{}", wire::escape(id));
        match self.client.call(Method::DELETE, &path, None).await {
            Ok(_) => {
                debug!(placement = %id, "Deleted a placement.");
                Ok(())
            }
            Err(Failure::Refused(r)) if r.status == 404 => Ok(()),
            Err(Failure::Error(ConnectorError::Unauthorized {
                status: 403,
                detail,
                ..
            })) => Err(ConnectorError::Rejected {
                target: self.target.clone(),
                method: "DELETE".to_owned(),
                path: "/studentsindepartments/{id}".to_owned(),
                status: 403,
                detail: format!(
                    "{detail}; this tenant does not let placements be deleted: set \
                     previous_class = \"keep\""
                ),
            }),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }
}

/// The id of a placement in `class` among `held` (placement id → class id, when known).
fn placement_in(held: &BTreeMap<String, Option<String>>, class: &str) -> Option<String> {
    held.iter()
        .find(|(_, c)| c.as_deref() == Some(class))
        .map(|(id, _)| id.clone())
}
