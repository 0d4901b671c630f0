//! HelloID's rules for groups, memberships and products (helloid.md §4.5, §4.6, §7): groups
//! whose names need not be unique, memberships granted idempotently, and products that reach a
//! user through a self-service request (at once, or after approval) and leave by product, every
//! assignment of it at once.

use super::error::HelloIdError;
use super::input::{ProductRequest, Unassign};
use super::store::{lower, Assignment, Group, Product, Request, Store, Unassignment};
use crate::order::OrderedSet;

/// What revoking a membership found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The membership existed and is gone.
    Removed,
    /// There was no such membership.
    Missing,
}

impl Store {
    /// Creates a group; duplicate names are allowed, as in HelloID. Returns its GUID.
    pub fn create_group(&mut self, name: &str, is_enabled: bool) -> String {
        let guid = self.new_guid();
        self.group_index.insert(lower(&guid), self.groups.len());
        self.groups.push(Group {
            guid: guid.clone(),
            name: name.to_string(),
            is_enabled,
            members: OrderedSet::default(),
        });
        tracing::debug!(%guid, "HelloID simulator created a group.");
        guid
    }

    fn group_at(&self, guid: &str) -> Result<usize, HelloIdError> {
        self.group_index
            .get(&lower(guid))
            .copied()
            .ok_or_else(HelloIdError::group_not_found)
    }

    fn live_guid(&self, user: &str) -> Result<String, HelloIdError> {
        self.live_user(user)
            .map(|u| u.guid.clone())
            .ok_or_else(HelloIdError::user_not_found)
    }

    /// Adds `user` to `group`; a membership that exists already is left as is, not refused.
    pub fn add_member(&mut self, user: &str, group: &str) -> Result<(), HelloIdError> {
        let user = self.live_guid(user)?;
        let at = self.group_at(group)?;
        self.groups[at].members.insert(user);
        Ok(())
    }

    /// Removes `user` from `group`, saying whether there was a membership to remove.
    pub fn remove_member(&mut self, user: &str, group: &str) -> Result<Revoked, HelloIdError> {
        let user = self.live_guid(user)?;
        let at = self.group_at(group)?;
        if !self.groups[at].members.remove(&user) {
            return Ok(Revoked::Missing);
        }
        Ok(Revoked::Removed)
    }

    /// Creates a product. Returns its `productId`.
    pub fn create_product(&mut self, name: &str) -> String {
        let id = self.new_guid();
        self.product_index.insert(lower(&id), self.products.len());
        self.products.push(Product {
            id: id.clone(),
            name: name.to_string(),
        });
        id
    }

    /// Adds one more assignment of `product` to `user`, as an approved request does.
    pub fn assign(&mut self, user: &str, product: &str) -> Result<(), HelloIdError> {
        let user = self.live_guid(user)?;
        let product = self
            .product(product)
            .map(|p| p.id.clone())
            .ok_or_else(HelloIdError::product_not_found)?;
        self.push_assignment(Assignment { product, user });
        Ok(())
    }

    /// Stores an assignment last, listed while its user is live, and indexes it by user.
    fn push_assignment(&mut self, a: Assignment) {
        self.next_assignment += 1;
        let seq = self.next_assignment;
        if self.live_user(&a.user).is_some() {
            self.shown_assignments.insert(seq, ());
        }
        self.assignments_by_user
            .entry(lower(&a.user))
            .or_default()
            .insert(seq);
        self.assignments.insert(seq, a);
    }

    /// Records a self-service request; without `approval` it becomes an assignment at once,
    /// otherwise it waits for [`Store::approve`]. Returns the request's GUID.
    pub fn request_product(
        &mut self,
        req: ProductRequest,
        approval: bool,
    ) -> Result<String, HelloIdError> {
        let user = self.live_guid(&req.requested_for)?;
        if self.product(&req.product).is_none() {
            return Err(HelloIdError::product_not_found());
        }
        if !approval {
            self.assign(&user, &req.product)?;
        }
        let guid = self.new_guid();
        self.requests.push(Request {
            guid: guid.clone(),
            product: req.product,
            requested_for: user,
            requested_by: req.requested_by,
            comment: req.comment,
            approved: !approval,
        });
        tracing::debug!(%guid, approval, "HelloID simulator received a product request.");
        Ok(guid)
    }

    /// Approves pending requests (`Some(guid)`: that one only), each becoming an assignment.
    /// Returns the GUIDs approved; an unknown or already approved GUID approves nothing.
    pub fn approve(&mut self, only: Option<&str>) -> Vec<String> {
        let only = only.map(lower);
        let mut approved = Vec::new();
        for r in &mut self.requests {
            if !r.approved && only.as_ref().map_or(true, |g| *g == r.guid) {
                r.approved = true;
                approved.push((r.guid.clone(), r.requested_for.clone(), r.product.clone()));
            }
        }
        // Assigned even if the user was deleted meanwhile: approval does not look back.
        for (_, user, product) in &approved {
            self.push_assignment(Assignment {
                product: product.clone(),
                user: user.clone(),
            });
        }
        approved.into_iter().map(|(guid, _, _)| guid).collect()
    }

    /// Removes every assignment of the product for the user and records the call, with its
    /// `executeActions`. Returns how many were removed (0 is not an error).
    pub fn unassign(&mut self, req: Unassign) -> Result<usize, HelloIdError> {
        let user = self.live_guid(&req.user)?;
        let product = self
            .product(&req.product)
            .map(|p| p.id.clone())
            .ok_or_else(HelloIdError::product_not_found)?;
        // Only this user's assignments are looked at, through the per-user index.
        let key = lower(&user);
        let held: Vec<u64> = self
            .assignments_by_user
            .get(&key)
            .into_iter()
            .flatten()
            .copied()
            .filter(|seq| {
                self.assignments
                    .get(seq)
                    .is_some_and(|a| a.user == user && a.product == product)
            })
            .collect();
        for seq in &held {
            self.assignments.remove(seq);
            self.shown_assignments.remove(*seq);
            if let Some(set) = self.assignments_by_user.get_mut(&key) {
                set.remove(seq);
            }
        }
        let removed = held.len();
        self.unassignments.push(Unassignment {
            product,
            user,
            execute_actions: req.execute_actions,
            removed,
        });
        tracing::debug!(removed, "HelloID simulator unassigned a product.");
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::input;
    use super::*;
    use serde_json::json;

    #[test]
    fn memberships_are_idempotent_and_revokes_say_what_they_found() {
        let mut s = Store::new(3);
        let u = s
            .create_user(input::user(&json!({"userName": "a"})).unwrap(), false)
            .unwrap();
        let g = s.create_group("G", true);
        s.add_member(&u, &g).unwrap();
        s.add_member(&u.to_uppercase(), &g).unwrap();
        assert_eq!(
            s.group(&g).unwrap().members.iter().collect::<Vec<_>>(),
            [u.as_str()]
        );
        assert_eq!(s.remove_member(&u, &g).unwrap(), Revoked::Removed);
        assert_eq!(s.remove_member(&u, &g).unwrap(), Revoked::Missing);
        assert!(s.add_member(&u, "nope").is_err());
    }

    #[test]
    fn requests_wait_for_approval_and_unassign_takes_them_all() {
        let mut s = Store::new(3);
        let u = s
            .create_user(input::user(&json!({"userName": "a"})).unwrap(), false)
            .unwrap();
        let p = s.create_product("P");
        let req = |s: &str| {
            input::product_request(&json!({
                "requestedProductGUID": s, "requestedForUserGUID": u, "requestedByUserGUID": u,
            }))
            .unwrap()
        };
        let r = s.request_product(req(&p), true).unwrap();
        assert_eq!(s.assignments(None).count(), 0);
        assert_eq!(s.approve(None), vec![r]);
        s.request_product(req(&p), false).unwrap();
        assert_eq!(s.assignments(Some(&u)).count(), 2);
        let un = input::unassign(&json!({"productGUID": p, "userGUID": u})).unwrap();
        assert_eq!(s.unassign(un).unwrap(), 2);
        assert_eq!(s.assignments(None).count(), 0);
    }
}
