//! HelloID's rules for writing users (helloid.md §4.3, §4.4, §7): a `userName` unique among
//! live users ignoring case (and among deleted ones with `deleted_name_reserved`), full-object
//! PUTs that ignore `userGUID` and a changed top-level `userName`, renames only through
//! `IdentifierObject.userName`, `userAttributes` merged key by key, and soft deletes.
//!
//! A write is checked in full before anything changes, so a refused request leaves no trace.

use super::error::HelloIdError;
use super::input::UserInput;
use super::store::{lower, Store, User};

impl Store {
    /// Refuses `name` when another user holds it: a live one always, a deleted one when
    /// `reserved`. `own` is the renamed user's index, whose own name never conflicts.
    fn check_name_free(
        &self,
        name: &str,
        own: Option<usize>,
        reserved: bool,
    ) -> Result<(), HelloIdError> {
        let key = lower(name);
        let live = self.live_names.get(&key).is_some_and(|&i| Some(i) != own);
        let deleted = reserved && self.deleted_names.get(&key).is_some_and(|&n| n > 0);
        if live || deleted {
            return Err(HelloIdError::name_taken(name));
        }
        Ok(())
    }

    /// Creates a user by the rules of `POST /users` and returns its GUID. Missing booleans are
    /// `false` and a missing `source` is `Local`; the password is stored, never served.
    pub fn create_user(
        &mut self,
        input: UserInput,
        reserved: bool,
    ) -> Result<String, HelloIdError> {
        let name = input
            .user_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| HelloIdError::required("userName"))?;
        self.check_name_free(&name, None, reserved)?;
        let mut attributes = serde_json::Map::new();
        for (key, value) in input.attributes.unwrap_or_default() {
            if !value.is_null() {
                attributes.insert(key, value);
            }
        }
        let guid = self.new_guid();
        let user = User {
            guid: guid.clone(),
            user_name: name.clone(),
            first_name: input.first_name.flatten(),
            last_name: input.last_name.flatten(),
            contact_email: input.contact_email.flatten(),
            is_enabled: input.is_enabled.unwrap_or(false),
            must_change_password: input.must_change_password.unwrap_or(false),
            source: Some(input.source.flatten().unwrap_or_else(|| "Local".into())),
            managed_by: input.managed_by.flatten(),
            attributes,
            password: input.password,
            deleted: false,
        };
        let index = self.users.len();
        self.users.push(user);
        self.live_order.insert(seq_of(index), index);
        self.user_index.insert(lower(&guid), index);
        self.live_names.insert(lower(&name), index);
        tracing::debug!(%guid, "HelloID simulator created a user.");
        Ok(guid)
    }

    /// Applies a `PUT /users/{guid}`: present fields replace, absent ones stay, `null` clears
    /// an optional string; attributes merge key by key with `null` removing a key. A PUT that
    /// changes nothing is accepted like any other.
    pub fn update_user(
        &mut self,
        guid: &str,
        input: UserInput,
        reserved: bool,
    ) -> Result<(), HelloIdError> {
        let index = *self
            .user_index
            .get(&lower(guid))
            .filter(|&&i| !self.users[i].deleted)
            .ok_or_else(HelloIdError::user_not_found)?;
        if let Some(new_name) = &input.rename {
            self.check_name_free(new_name, Some(index), reserved)?;
        }
        let user = &mut self.users[index];
        let old_name = user.user_name.clone();
        set(&mut user.first_name, input.first_name);
        set(&mut user.last_name, input.last_name);
        set(&mut user.contact_email, input.contact_email);
        set(&mut user.source, input.source);
        set(&mut user.managed_by, input.managed_by);
        if let Some(b) = input.is_enabled {
            user.is_enabled = b;
        }
        if let Some(b) = input.must_change_password {
            user.must_change_password = b;
        }
        for (key, value) in input.attributes.unwrap_or_default() {
            if value.is_null() {
                user.attributes.remove(&key);
            } else {
                user.attributes.insert(key, value);
            }
        }
        if let Some(new_name) = input.rename {
            user.user_name = new_name.clone();
            self.live_names.remove(&lower(&old_name));
            self.live_names.insert(lower(&new_name), index);
            tracing::debug!(%guid, "HelloID simulator renamed a user.");
        }
        Ok(())
    }

    /// Soft-deletes a live user: gone from `GET /users` and every lookup, listed by
    /// `?isDeleted=true`. Memberships and assignments are kept but no longer shown.
    pub fn delete_user(&mut self, guid: &str) -> Result<(), HelloIdError> {
        let index = *self
            .user_index
            .get(&lower(guid))
            .filter(|&&i| !self.users[i].deleted)
            .ok_or_else(HelloIdError::user_not_found)?;
        let user = &mut self.users[index];
        user.deleted = true;
        let key = lower(&user.user_name);
        let guid_key = lower(&user.guid);
        self.live_names.remove(&key);
        *self.deleted_names.entry(key).or_insert(0) += 1;
        self.live_order.remove(seq_of(index));
        self.deleted_order.insert(seq_of(index), index);
        // Its assignments are kept but no longer listed.
        for seq in self
            .assignments_by_user
            .get(&guid_key)
            .into_iter()
            .flatten()
        {
            self.shown_assignments.remove(*seq);
        }
        tracing::debug!(%guid, "HelloID simulator soft-deleted a user.");
        Ok(())
    }
}

/// The place of the user at `index` in the live or deleted order: counted from 1.
fn seq_of(index: usize) -> u64 {
    u64::try_from(index).map_or(u64::MAX, |i| i + 1)
}

/// Applies a [`super::input::Field`] to an optional string: absent keeps, `null` clears.
fn set(slot: &mut Option<String>, field: Option<Option<String>>) {
    if let Some(value) = field {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::super::input;
    use super::*;
    use serde_json::{json, Value};

    fn new_user(store: &mut Store, body: Value) -> Result<String, HelloIdError> {
        store.create_user(input::user(&body).unwrap(), false)
    }

    #[test]
    fn names_are_unique_among_live_users_ignoring_case() {
        let mut s = Store::new(1);
        let a = new_user(&mut s, json!({"userName": "A@x"})).unwrap();
        let err = new_user(&mut s, json!({"userName": "a@X"})).unwrap_err();
        assert_eq!(err.status.as_u16(), 409);
        s.delete_user(&a).unwrap();
        assert!(s
            .create_user(input::user(&json!({"userName": "a@x"})).unwrap(), true)
            .is_err());
        assert!(new_user(&mut s, json!({"userName": "a@x"})).is_ok());
        assert!(s.delete_user(&a).unwrap_err().is_user_not_found());
    }

    #[test]
    fn updates_merge_attributes_and_rename_only_through_the_identifier_object() {
        let mut s = Store::new(1);
        let g = new_user(
            &mut s,
            json!({"userName": "a@x", "userAttributes": {"k": "1", "gone": "2"}}),
        )
        .unwrap();
        let body = json!({"userName": "ignored@x", "userAttributes": {"k": "3", "gone": null, "new": "4"}});
        s.update_user(&g, input::user(&body).unwrap(), false)
            .unwrap();
        let u = s.live_user(&g).unwrap();
        assert_eq!(u.user_name, "a@x");
        assert_eq!(json!(u.attributes), json!({"k": "3", "new": "4"}));
        let body = json!({"IdentifierObject": {"userName": "b@x"}});
        s.update_user(&g, input::user(&body).unwrap(), false)
            .unwrap();
        assert_eq!(s.user_by_key("B@X").unwrap().guid, g);
        assert!(s.user_by_key("a@x").is_none());
    }
}
