//! The tenant: users (live and soft-deleted), groups with their members, products, product
//! assignments, self-service requests and the record of unassignments, as stored, with their
//! ids, lookups and JSON rendering (helloid.md §2).
//!
//! The rules for changing them live next door: users in `users`, the rest in `catalog`. Every
//! list keeps creation order, which is the order lists are served in, so paging is stable.
//! Lists that grow with the users (live users, deleted users, assignments) are paged through a
//! [`Sequence`], so a `skip` costs O(log n) rather than the rows skipped; a group's members are
//! an [`OrderedSet`] and each user's assignments are indexed, so no single-user request scans.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Map, Value};

use crate::order::{OrderedSet, Sequence};

/// One user as stored. `password` is never rendered for a client.
#[derive(Debug, Clone)]
pub struct User {
    pub guid: String,
    pub user_name: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub contact_email: Option<String>,
    pub is_enabled: bool,
    pub must_change_password: bool,
    pub source: Option<String>,
    pub managed_by: Option<String>,
    pub attributes: Map<String, Value>,
    pub password: Option<String>,
    /// Soft-deleted: listed only by `?isDeleted=true`, otherwise not found.
    pub deleted: bool,
}

/// A group; `members` are user GUIDs in the order they were added.
#[derive(Debug, Clone)]
pub struct Group {
    pub guid: String,
    pub name: String,
    pub is_enabled: bool,
    pub members: OrderedSet,
}

/// A product; assignments refer to it by `id` (`productGuid == productId`).
#[derive(Debug, Clone)]
pub struct Product {
    pub id: String,
    pub name: String,
}

/// One assignment of a product to a user; a user may hold the same product more than once.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub product: String,
    pub user: String,
}

/// A self-service product request.
#[derive(Debug, Clone)]
pub struct Request {
    pub guid: String,
    pub product: String,
    pub requested_for: String,
    pub requested_by: Option<String>,
    pub comment: Option<String>,
    /// Whether it became an assignment (at once, or when approved).
    pub approved: bool,
}

/// One `unassign/by-product` call as received, with how many assignments it removed.
#[derive(Debug, Clone)]
pub struct Unassignment {
    pub product: String,
    pub user: String,
    pub execute_actions: bool,
    pub removed: usize,
}

/// Everything the simulator holds.
#[derive(Debug)]
pub struct Store {
    pub(super) users: Vec<User>,
    /// Indexes in `users` of the live users, under index + 1 (creation order), for paging.
    pub(super) live_order: Sequence<usize>,
    /// The same for the soft-deleted users.
    pub(super) deleted_order: Sequence<usize>,
    /// Lower-case GUID → index in `users`.
    pub(super) user_index: HashMap<String, usize>,
    /// Lower-case `userName` of a live user → index in `users`.
    pub(super) live_names: HashMap<String, usize>,
    /// Lower-case `userName` of deleted users → how many hold it.
    pub(super) deleted_names: HashMap<String, usize>,
    pub(super) groups: Vec<Group>,
    pub(super) group_index: HashMap<String, usize>,
    pub(super) products: Vec<Product>,
    pub(super) product_index: HashMap<String, usize>,
    /// Every assignment, deleted users' too, under its creation number.
    pub(super) assignments: BTreeMap<u64, Assignment>,
    /// The creation numbers of the assignments of live users: what the lists show.
    pub(super) shown_assignments: Sequence<()>,
    /// Lower-case user GUID → the creation numbers of that user's assignments.
    pub(super) assignments_by_user: HashMap<String, BTreeSet<u64>>,
    pub(super) next_assignment: u64,
    pub(super) requests: Vec<Request>,
    pub(super) unassignments: Vec<Unassignment>,
    rng: StdRng,
}

/// Lower case, the form names and GUIDs are compared in.
pub fn lower(s: &str) -> String {
    s.to_lowercase()
}

impl Store {
    /// An empty tenant whose ids follow from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            users: Vec::new(),
            live_order: Sequence::default(),
            deleted_order: Sequence::default(),
            user_index: HashMap::new(),
            live_names: HashMap::new(),
            deleted_names: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            products: Vec::new(),
            product_index: HashMap::new(),
            assignments: BTreeMap::new(),
            shown_assignments: Sequence::default(),
            assignments_by_user: HashMap::new(),
            next_assignment: 0,
            requests: Vec::new(),
            unassignments: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A random version-4 UUID, reproducible from the seed and the order of creation.
    pub(super) fn new_guid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// A user, live or deleted, by GUID (any case).
    pub fn user_any(&self, guid: &str) -> Option<&User> {
        self.user_index.get(&lower(guid)).map(|&i| &self.users[i])
    }

    /// A live user by GUID (any case).
    pub fn live_user(&self, guid: &str) -> Option<&User> {
        self.user_any(guid).filter(|u| !u.deleted)
    }

    /// A live user by GUID or, failing that, by `userName` ignoring case (helloid.md §3).
    pub fn user_by_key(&self, key: &str) -> Option<&User> {
        self.live_user(key).or_else(|| {
            self.live_names
                .get(&lower(key))
                .map(|&i| &self.users[i])
                .filter(|u| !u.deleted)
        })
    }

    fn order(&self, deleted: bool) -> &Sequence<usize> {
        if deleted {
            &self.deleted_order
        } else {
            &self.live_order
        }
    }

    /// Users, deleted or live as asked, in creation order.
    pub fn users(&self, deleted: bool) -> impl Iterator<Item = &User> {
        self.order(deleted).values().map(|&i| &self.users[i])
    }

    /// At most `take` users, deleted or live as asked, from offset `skip` on, in creation
    /// order: O(log n + take).
    pub fn user_page(&self, deleted: bool, skip: usize, take: usize) -> Vec<&User> {
        let page = self.order(deleted).page(skip, take);
        page.map(|(_, &i)| &self.users[i]).collect()
    }

    /// A group by GUID (any case).
    pub fn group(&self, guid: &str) -> Option<&Group> {
        self.group_index.get(&lower(guid)).map(|&i| &self.groups[i])
    }

    /// A product by id (any case).
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.product_index
            .get(&lower(id))
            .map(|&i| &self.products[i])
    }

    /// Assignments of live users, optionally of one user only (through the per-user index),
    /// in creation order.
    pub fn assignments<'a>(
        &'a self,
        user: Option<&str>,
    ) -> Box<dyn Iterator<Item = &'a Assignment> + 'a> {
        match user {
            None => Box::new(
                self.shown_assignments
                    .iter()
                    .filter_map(|(seq, ())| self.assignments.get(seq)),
            ),
            Some(user) => Box::new(
                self.assignments_by_user
                    .get(&lower(user))
                    .into_iter()
                    .flatten()
                    .filter_map(|seq| self.assignments.get(seq))
                    .filter(|a| self.live_user(&a.user).is_some()),
            ),
        }
    }

    /// At most `take` assignments of live users from offset `skip` on: O(log n + take).
    pub fn assignment_page(&self, skip: usize, take: usize) -> Vec<&Assignment> {
        let page = self.shown_assignments.page(skip, take);
        page.filter_map(|(seq, ())| self.assignments.get(&seq))
            .collect()
    }

    /// A self-service request by GUID; the newest are found first.
    pub fn request(&self, guid: &str) -> Option<&Request> {
        self.requests.iter().rev().find(|r| r.guid == guid)
    }

    /// A user as the API returns it: everything but the password.
    pub fn render_user(&self, u: &User) -> Value {
        json!({
            "userGUID": u.guid,
            "userName": u.user_name,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "contactEmail": u.contact_email,
            "isEnabled": u.is_enabled,
            "mustChangePassword": u.must_change_password,
            "source": u.source,
            "managedByUserGUID": u.managed_by,
            "userAttributes": u.attributes,
        })
    }

    /// A group as listed; with `members`, as `GET /groups/{guid}` returns it, with `users`
    /// holding the GUIDs of its live members.
    pub fn render_group(&self, g: &Group, members: bool) -> Value {
        let mut v = json!({ "groupGuid": g.guid, "name": g.name, "isEnabled": g.is_enabled });
        if members {
            let users: Vec<&str> = g
                .members
                .iter()
                .filter(|m| self.live_user(m).is_some())
                .collect();
            v["users"] = json!(users);
        }
        v
    }

    /// A product.
    pub fn render_product(&self, p: &Product) -> Value {
        json!({ "productId": p.id, "name": p.name })
    }

    /// An assignment, with the product's current name.
    pub fn render_assignment(&self, a: &Assignment) -> Value {
        json!({
            "productGuid": a.product,
            "productName": self.product(&a.product).map(|p| p.name.as_str()),
            "userGuid": a.user,
        })
    }

    /// A self-service request (its shape is the simulator's: helloid.md does not show one).
    pub fn render_request(&self, r: &Request) -> Value {
        json!({
            "requestGuid": r.guid,
            "status": if r.approved { "Approved" } else { "Pending" },
            "requestedProductGUID": r.product,
            "requestedForUserGUID": r.requested_for,
            "requestedByUserGUID": r.requested_by,
            "comment": r.comment,
        })
    }

    /// An unassignment as recorded.
    pub fn render_unassignment(&self, u: &Unassignment) -> Value {
        json!({
            "productGUID": u.product,
            "userGUID": u.user,
            "executeActions": u.execute_actions,
            "removed": u.removed,
        })
    }

    /// The test API's view of everything, deleted users and passwords included.
    pub fn dump(&self) -> Value {
        let users: Vec<Value> = self
            .users
            .iter()
            .map(|u| {
                let mut v = self.render_user(u);
                v["deleted"] = json!(u.deleted);
                v["password"] = json!(u.password);
                v
            })
            .collect();
        json!({
            "users": users,
            "groups": self.groups.iter().map(|g| self.render_group(g, true)).collect::<Vec<_>>(),
            "products": self.products.iter().map(|p| self.render_product(p)).collect::<Vec<_>>(),
            "assignments": self.assignments.values().map(|a| self.render_assignment(a)).collect::<Vec<_>>(),
            "requests": self.requests.iter().map(|r| self.render_request(r)).collect::<Vec<_>>(),
            "unassignments": self.unassignments.iter().map(|u| self.render_unassignment(u)).collect::<Vec<_>>(),
        })
    }
}
