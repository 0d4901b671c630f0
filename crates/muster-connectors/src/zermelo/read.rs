//! Reading Zermelo (zermelo.md §6, "Observed read"): users from one unfiltered list (or one by
//! one where the tenant refuses it), classes
//! from one `departmentsofbranches`, each student's placements (with `read_placements` from
//! `studentsindepartments`, otherwise from the student records of the persons' students, so
//! that a tenant adopted with a fresh store is not placed a second time); the look-up by
//! `code` that re-correlates a create whose outcome is unknown; and classes by name (for a
//! sign-in's placement).
//!
//! Nothing here pages: each list is one request (zermelo.md §1), so no read loops on the
//! server's say-so. The loops that remain are bounded: one per student for placements, and
//! the client's retries (attempts, throttle budget, [`crate::http::GARBLED_ATTEMPTS`]).

use super::client::{Failure, Reply};
use super::connector::Inner;
use super::wire::{self, DEPARTMENT_FIELDS, USER_FIELDS};
use crate::common::TargetErrors as _;
use crate::http::Method;
use muster_core::connector::{
    groups_named, ConnectorError, Observed, ObservedAccount, ObservedGroup, ReadScope,
};
use muster_core::AccountRef;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// The answer to the user list.
enum Listed {
    All(Vec<ObservedAccount>),
    /// 403, with the tenant's text.
    Refused(String),
}

impl Inner {
    /// Every user, every class, and (with `read_placements`) every student's placements.
    /// Complete or failed: a list shorter than its `totalRows`, or a refused list, fails the
    /// read.
    ///
    /// With a `scope` (a plan), a tenant that refuses the user list (403) is read one user at a
    /// time instead: every linked account and every person's code (zermelo.md §6), and the run
    /// report says so. Without one (an import asks for everything) the refusal fails the read.
    pub(super) async fn read_all(
        self: &Arc<Self>,
        scope: Option<&ReadScope>,
    ) -> Result<Observed, ConnectorError> {
        let accounts = match (self.list_users().await?, scope) {
            (Listed::All(accounts), _) => accounts,
            (Listed::Refused(_), Some(scope)) => self.read_users_one_by_one(scope).await?,
            (Listed::Refused(detail), None) => {
                return Err(self.incomplete(format!(
                    "GET /users was refused (403: {detail}); this tenant does not list users, \
                     and without persons to look for they cannot be read one by one"
                )))
            }
        };
        let mut groups = self.read_classes().await?;
        let students = self.students_to_read(&accounts, scope);
        self.read_members(&students, &mut groups).await?;
        info!(
            accounts = accounts.len(),
            groups = groups.len(),
            placements_read = self.read_placements,
            "Read the target."
        );
        Ok(Observed {
            accounts,
            groups,
            deleted: Vec::new(),
        })
    }

    /// The students whose placements are read: every student with `read_placements`; otherwise
    /// (a request per student record) those of the persons a plan looks at, or every student
    /// for an import.
    fn students_to_read(
        &self,
        accounts: &[ObservedAccount],
        scope: Option<&ReadScope>,
    ) -> Vec<AccountRef> {
        let wanted: Option<HashSet<&str>> = scope.filter(|_| !self.read_placements).map(|s| {
            s.linked
                .iter()
                .map(|a| a.as_str().trim())
                .chain(s.correlation_values.iter().map(|v| v.trim()))
                .collect()
        });
        accounts
            .iter()
            .filter(|a| a.attributes.get(wire::IS_STUDENT) == Some(&Value::Bool(true)))
            .filter(|a| {
                wanted
                    .as_ref()
                    .map_or(true, |w| w.contains(a.reference.as_str()))
            })
            .map(|a| a.reference.clone())
            .collect()
    }

    /// Every user, failing when the tenant refuses the list.
    async fn read_users(&self) -> Result<Vec<ObservedAccount>, ConnectorError> {
        match self.list_users().await? {
            Listed::All(accounts) => Ok(accounts),
            Listed::Refused(detail) => Err(self.incomplete(format!(
                "GET /users was refused (403: {detail}); this tenant does not list users"
            ))),
        }
    }

    /// The users of `scope` (linked accounts and the persons' codes), one `GET users/{code}`
    /// each, `concurrency` at a time; a 404 is a person without a user. Bounded by the scope.
    async fn read_users_one_by_one(
        self: &Arc<Self>,
        scope: &ReadScope,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        let codes: BTreeSet<String> = scope
            .linked
            .iter()
            .map(|a| a.as_str().trim().to_owned())
            .chain(scope.correlation_values.iter().map(|v| v.trim().to_owned()))
            .filter(|c| !c.is_empty())
            .collect();
        let width = self.capabilities.max_concurrency.max(1);
        let mut pending = codes.iter().cloned();
        let mut running = JoinSet::new();
        let mut accounts = Vec::new();
        loop {
            while running.len() < width {
                let Some(code) = pending.next() else { break };
                let me = Arc::clone(self);
                running.spawn(async move { me.fetch_user(&code).await });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let found = joined.map_err(|e| self.incomplete(format!("a user read stopped: {e}")))?;
            accounts.extend(found?);
        }
        accounts.sort_by(|a, b| a.reference.cmp(&b.reference));
        warn!(
            asked = codes.len(),
            found = accounts.len(),
            "The user list was refused; read users one by one."
        );
        self.warn(format!(
            "{}: GET /users was refused (403), so {} users were read one by one ({} found); \
             users of persons not in the source are not seen",
            self.target,
            codes.len(),
            accounts.len()
        ));
        Ok(accounts)
    }

    /// `GET users?fields=…`. A 403 is the tenant refusing the list, not a bad token (no public
    /// client lists users), so it is a refusal to work around, not a reason to stop the target.
    async fn list_users(&self) -> Result<Listed, ConnectorError> {
        let path = format!("/users?{}", wire::fields_query(&USER_FIELDS));
        let rows = match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => self.complete_rows("/users", reply)?,
            Err(Failure::Error(ConnectorError::Unauthorized {
                status: 403,
                detail,
                ..
            })) => return Ok(Listed::Refused(detail)),
            Err(f) => return Err(f.into_error(&self.target)),
        };
        let mut seen = HashSet::new();
        let mut accounts = Vec::with_capacity(rows.len());
        for row in &rows {
            let account =
                wire::to_account(row).map_err(|e| self.protocol(format!("/users: {e}")))?;
            if seen.insert(account.reference.clone()) {
                accounts.push(account);
            }
        }
        Ok(Listed::All(accounts))
    }

    /// `GET departmentsofbranches`, once: every class of every school and year.
    async fn read_classes(&self) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let path = format!(
            "/departmentsofbranches?{}",
            wire::fields_query(&DEPARTMENT_FIELDS)
        );
        let reply = self
            .client
            .call(Method::GET, &path, None)
            .await
            .map_err(|f| f.into_error(&self.target))?;
        let rows = self.complete_rows("/departmentsofbranches", reply)?;
        let mut seen = HashSet::new();
        let mut groups = Vec::with_capacity(rows.len());
        for row in &rows {
            let group = wire::to_group(row)
                .map_err(|e| self.protocol(format!("/departmentsofbranches: {e}")))?;
            if seen.insert(group.reference.clone()) {
                groups.push(group);
            }
        }
        Ok(groups)
    }

    /// The rows of a list answer, refusing one shorter than its own `totalRows`.
    fn complete_rows(&self, path: &str, reply: Reply) -> Result<Vec<Value>, ConnectorError> {
        let envelope = reply
            .envelope
            .ok_or_else(|| self.protocol(format!("GET {path}: empty answer to a list")))?;
        if let Some(total) = envelope.total_rows {
            let got = envelope.data.len() as u64;
            if got < total {
                return Err(
                    self.incomplete(format!("GET {path}: {got} rows of the {total} announced"))
                );
            }
        }
        Ok(envelope.data)
    }

    /// Fills `groups`' members with every student's placements, `concurrency` students at a
    /// time (the HTTP layer bounds requests in flight as well).
    async fn read_members(
        self: &Arc<Self>,
        students: &[AccountRef],
        groups: &mut [ObservedGroup],
    ) -> Result<(), ConnectorError> {
        let index: HashMap<String, usize> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.reference.as_str().to_owned(), i))
            .collect();
        let width = self.capabilities.max_concurrency.max(1);
        let mut pending = students.iter().cloned();
        let mut running = JoinSet::new();
        let mut unknown = BTreeSet::new();
        loop {
            while running.len() < width {
                let Some(student) = pending.next() else { break };
                let me = Arc::clone(self);
                running.spawn(async move {
                    let classes = if me.read_placements {
                        me.placements_of(&student).await
                    } else {
                        me.record_classes(&student).await
                    };
                    (student, classes)
                });
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (student, classes) =
                joined.map_err(|e| self.incomplete(format!("a placement read stopped: {e}")))?;
            for class in classes? {
                match index.get(&class).and_then(|i| groups.get_mut(*i)) {
                    Some(group) => {
                        group.members.insert(student.clone());
                    }
                    None => {
                        unknown.insert(class);
                    }
                }
            }
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.into_iter().collect();
            warn!(
                classes = list.len(),
                "Placements in classes that were not listed."
            );
            self.warn(format!(
                "{}: placements in classes that departmentsofbranches did not list (ids {}); \
                 they are ignored",
                self.target,
                list.join(", ")
            ));
        }
        Ok(())
    }

    /// The class ids `student` is placed in: `GET studentsindepartments?student={code}`. Rows
    /// of other students (a server that ignores the filter) are dropped. A 403 means the
    /// tenant does not answer this read, which `read_placements` assumed it did.
    pub(super) async fn placements_of(
        &self,
        student: &AccountRef,
    ) -> Result<Vec<String>, ConnectorError> {
        let path = format!(
            "/studentsindepartments?student={}",
            wire::escape(student.as_str())
        );
        let rows = match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => self.complete_rows("/studentsindepartments", reply)?,
            // No placements of an unknown student.
            Err(Failure::Refused(r)) if r.status == 404 => Vec::new(),
            Err(Failure::Error(ConnectorError::Unauthorized {
                status: 403,
                detail,
                ..
            })) => {
                return Err(self.incomplete(format!(
                    "read_placements is on, but GET /studentsindepartments?student= was \
                     refused (403: {detail}); turn read_placements off for this tenant"
                )))
            }
            Err(f) => return Err(f.into_error(&self.target)),
        };
        Ok(rows
            .iter()
            .filter_map(|p| wire::placement_class(p, student.as_str()))
            .collect())
    }

    /// The class ids `student`'s record lists (`GET students/{code}?fields=studentInDepartments`);
    /// none for a user without a record (404). Placements listed without their class (the
    /// record's shape is not documented) cannot be counted: the run report says so, and only
    /// the placements Muster made (its store) count for that student.
    async fn record_classes(&self, student: &AccountRef) -> Result<Vec<String>, ConnectorError> {
        let path = format!(
            "/students/{}?{}",
            wire::escape(student.as_str()),
            wire::fields_query(&[wire::STUDENT_IN_DEPARTMENTS])
        );
        let rows = match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => reply.into_rows(),
            Err(Failure::Refused(r)) if r.status == 404 => return Ok(Vec::new()),
            Err(f) => return Err(f.into_error(&self.target)),
        };
        let listed = rows
            .first()
            .map(wire::student_placements)
            .unwrap_or_else(|| Ok(Default::default()));
        let held = match listed {
            Ok(held) => held,
            Err(e) => {
                self.warn_unread_placements(&e);
                return Ok(Vec::new());
            }
        };
        if held.values().any(Option::is_none) {
            self.warn_unread_placements("entries without their class");
        }
        Ok(held.into_values().flatten().collect())
    }

    fn warn_unread_placements(&self, why: &str) {
        warn!(
            why,
            "A student record's placements could not be read by class."
        );
        self.warn(format!(
            "{}: some student records list placements Muster cannot read by class ({why}); \
             for those students only the placements Muster made count, so a class may be \
             placed again: turn on read_placements if this tenant answers it",
            self.target
        ));
    }

    /// `GET users/{code}?fields=…`: the user, or `None` for a 404.
    pub(super) async fn fetch_user(
        &self,
        code: &str,
    ) -> Result<Option<ObservedAccount>, ConnectorError> {
        let path = format!(
            "/users/{}?{}",
            wire::escape(code),
            wire::fields_query(&USER_FIELDS)
        );
        match self.client.call(Method::GET, &path, None).await {
            Ok(reply) => match reply.into_rows().first() {
                Some(user) => wire::to_account(user)
                    .map(Some)
                    .map_err(|e| self.protocol(format!("GET /users/{{code}}: {e}"))),
                None => Err(self.protocol("GET /users/{code}: no user in the answer".to_owned())),
            },
            Err(Failure::Refused(r)) if r.status == 404 => Ok(None),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Accounts whose `attribute` equals `value`. `code` is read directly
    /// (`GET users/{code}`); any other attribute by the full list, compared ignoring case.
    pub(super) async fn lookup(
        &self,
        attribute: &str,
        value: &str,
    ) -> Result<Vec<ObservedAccount>, ConnectorError> {
        if attribute.eq_ignore_ascii_case(wire::CODE) {
            // An empty code would read the list at `users/`.
            if value.trim().is_empty() {
                return Ok(Vec::new());
            }
            return Ok(self.fetch_user(value).await?.into_iter().collect());
        }
        debug!(
            attribute,
            "Look-up by an attribute other than code: reading every user."
        );
        let wanted = value.to_lowercase();
        Ok(self
            .read_users()
            .await?
            .into_iter()
            .filter(|a| {
                a.attributes
                    .get(attribute)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.to_lowercase() == wanted)
            })
            .collect())
    }

    /// The classes named one of `names` (`<code> / <schoolInSchoolYearName>`), without
    /// placements: one `departmentsofbranches`, matched here (Zermelo filters nothing).
    pub(super) async fn lookup_groups(
        &self,
        names: &[String],
    ) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let classes = self.read_classes().await?;
        Ok(groups_named(
            classes.into_iter().map(|c| (c.reference, c.name)),
            names,
        ))
    }
}
