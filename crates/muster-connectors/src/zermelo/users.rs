//! User writes (zermelo.md §6): the create with its student-record check, partial PUTs of the
//! changed members, and archiving instead of deleting.

use super::client::{Failure, Refusal};
use super::connector::Inner;
use super::wire;
use crate::common::TargetErrors as _;
use crate::http::Method;
use muster_core::connector::{Attributes, ConnectorError, Outcome};
use muster_core::AccountRef;
use serde_json::Value;
use tracing::{debug, instrument};

impl Inner {
    /// `POST users` with real booleans and `isStudent: true` unless the attributes say
    /// otherwise, then `GET students/{code}` to confirm the student record Zermelo creates with
    /// a student user: without it no class can be placed, so the create fails.
    ///
    /// A 409 is a [`ConnectorError::Conflict`] (the engine looks the code up and correlates);
    /// an unknown outcome is [`ConnectorError::Uncertain`] and never re-posted here.
    /// Zermelo has no enabled flag (`can_disable: false`), so `enabled` is not written.
    #[instrument(skip_all, fields(target = %self.target))]
    pub(super) async fn create(
        &self,
        attributes: &Attributes,
        enabled: bool,
    ) -> Result<Outcome, ConnectorError> {
        let (code, body) = wire::create_body(attributes).map_err(|e| self.config_error(e))?;
        if !enabled {
            debug!("Create asked for a disabled account; Zermelo has no enabled flag.");
        }
        let is_student = body.get(wire::IS_STUDENT) == Some(&Value::Bool(true));
        let created = match self.client.call(Method::POST, "/users", Some(&body)).await {
            Ok(reply) => reply.into_rows().into_iter().next(),
            Err(Failure::Refused(r)) if r.status == 409 => {
                return Err(ConnectorError::Conflict {
                    target: self.target.clone(),
                    detail: r.detail,
                })
            }
            Err(f) => return Err(f.into_error(&self.target)),
        };
        if is_student {
            self.confirm_student(&code).await?;
        }
        let account = match created.as_ref().map(wire::to_account) {
            Some(Ok(account)) => account,
            // The answer is not documented to hold the user: read it back.
            _ => self.fetch_user(&code).await?.ok_or_else(|| {
                self.protocol(format!(
                    "POST /users succeeded, but users/{code} is not found afterwards"
                ))
            })?,
        };
        debug!("Created a user.");
        Ok(Outcome::Created(account))
    }

    /// `GET students/{code}`: the student record exists and its `userCode` is the user's.
    async fn confirm_student(&self, code: &str) -> Result<(), ConnectorError> {
        let path = format!("/students/{}", wire::escape(code));
        let refused = |status: u16, detail: String| ConnectorError::Rejected {
            target: self.target.clone(),
            method: "GET".to_owned(),
            path: "/students/{code}".to_owned(),
            status,
            detail,
        };
        let rows = match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => reply.into_rows(),
            Err(Failure::Refused(Refusal {
                status: 404,
                detail,
                ..
            })) => {
                return Err(refused(
                    404,
                    format!(
                        "user {code} was created, but Zermelo holds no student record for it, so \
                         no class can be placed ({detail})"
                    ),
                ))
            }
            Err(f) => return Err(f.into_error(&self.target)),
        };
        let user_code = rows
            .first()
            .and_then(|s| s.get("userCode"))
            .and_then(|c| match c {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        match user_code {
            Some(found) if found == code => Ok(()),
            Some(found) => Err(refused(
                200,
                format!("student record does not match user: students/{code} belongs to {found}"),
            )),
            None => Err(refused(
                200,
                format!("students/{code} answered without a student record"),
            )),
        }
    }

    /// Partial `PUT users/{code}`: only the changed members, `archived` when given, and
    /// `code`. A 404 is [`ConnectorError::AccountGone`].
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    pub(super) async fn update(
        &self,
        account: &AccountRef,
        changes: &Attributes,
        archived: Option<bool>,
    ) -> Result<Outcome, ConnectorError> {
        let body = wire::put_body(account.as_str(), changes, archived)
            .map_err(|e| self.config_error(e))?;
        match self.put_user(account, &body).await? {
            true => Ok(Outcome::Done),
            false => Err(self.account_gone(account)),
        }
    }

    /// Delete as archive: `GET users/{code}` first (404: already gone); a user already
    /// archived is left alone unless there are changes to write; otherwise PUT
    /// `{"archived": true, "code": …}` with the changes. The account stays readable.
    #[instrument(skip_all, fields(target = %self.target, account = %account))]
    pub(super) async fn archive(
        &self,
        account: &AccountRef,
        changes: &Attributes,
    ) -> Result<Outcome, ConnectorError> {
        let Some(current) = self.fetch_user(account.as_str()).await? else {
            debug!("User not found; nothing to archive.");
            return Ok(Outcome::AlreadyAbsent);
        };
        let already = !current.enabled;
        if already && changes.is_empty() {
            debug!("User already archived.");
            return Ok(Outcome::AlreadyAbsent);
        }
        let body = wire::put_body(account.as_str(), changes, Some(true))
            .map_err(|e| self.config_error(e))?;
        // Gone between the read and the write: absent all the same.
        match (self.put_user(account, &body).await?, already) {
            (true, false) => Ok(Outcome::Done),
            _ => Ok(Outcome::AlreadyAbsent),
        }
    }

    /// `PUT users/{code}`; `false` for a 404. A PUT is safe to repeat, so the HTTP layer
    /// retries it after 5xx and dropped connections.
    async fn put_user(&self, account: &AccountRef, body: &Value) -> Result<bool, ConnectorError> {
        let path = format!("/users/{}", wire::escape(account.as_str()));
        match self.client.call(Method::PUT, &path, Some(body)).await {
            Ok(_) => Ok(true),
            Err(Failure::Refused(r)) if r.status == 404 => Ok(false),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }
}
