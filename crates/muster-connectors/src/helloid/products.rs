//! Products of [`super::HelloIdConnector`] (helloid.md §4.6, §6 "Products"). Products are
//! groups to the engine: reference `product:<productId>`, name `Product - <name>`, members the
//! users holding an assignment. A grant asks self-service for the product only when the user
//! holds no assignment of it (whatever else they hold), and answers
//! [`Outcome::Requested`] when the request has not become an assignment yet (approval). A
//! revoke unassigns by product, which removes every assignment of it for the user.

use super::client::{Failure, Reply};
use super::connector::{segment, Found, Inner};
use super::wire::{self, PRODUCT_ID, PRODUCT_NAME_PREFIX, REQUEST_COMMENT};
use crate::common::TargetErrors as _;
use crate::http::Method;
use muster_core::connector::{group_key, ConnectorError, ObservedGroup, Outcome};
use muster_core::{AccountRef, GroupRef};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use tracing::{debug, instrument};

fn product_key(v: &Value) -> Option<String> {
    wire::str_field(v, PRODUCT_ID).map(str::to_ascii_lowercase)
}

/// A listed product's id and name (its id when it has no name).
fn id_and_name(p: &Value) -> (&str, &str) {
    let id = wire::str_field(p, PRODUCT_ID).unwrap_or_default();
    (id, wire::str_field(p, "name").unwrap_or(id))
}

/// A product as a group: reference `product:<id>`, name `Product - <name>`.
fn as_group(id: &str, name: &str) -> (GroupRef, String) {
    (
        GroupRef::new(wire::product_ref(id)),
        format!("{PRODUCT_NAME_PREFIX}{name}"),
    )
}

/// Whether a permission's name is a product's (`Product - <name>`), as [`as_group`] names them.
pub(super) fn is_product_name(name: &str) -> bool {
    group_key(name).starts_with(&group_key(PRODUCT_NAME_PREFIX))
}

/// A user may hold a product more than once; the pair is what the read needs.
fn assignment_key(v: &Value) -> Option<String> {
    let (product, user) = wire::assignment(v)?;
    Some(format!(
        "{}\n{}",
        product.to_ascii_lowercase(),
        user.to_ascii_lowercase()
    ))
}

impl Inner {
    /// Every product, with the users holding it, from `/products` and `/product-assignment`.
    /// An assignment of a product the list does not show still counts, named by the
    /// assignment's `productName`.
    pub(super) async fn read_products(&self) -> Result<Vec<ObservedGroup>, ConnectorError> {
        let take = super::connector::PAGE_SIZE;
        let (products, assignments) = tokio::try_join!(
            self.client.list("/products", product_key, take),
            self.client
                .list("/product-assignment", assignment_key, take),
        )?;
        // Lower-case id → (id, name, members), in the order products are listed.
        let mut order = Vec::new();
        let mut by_id: BTreeMap<String, (String, String, BTreeSet<AccountRef>)> = BTreeMap::new();
        for p in &products {
            let (id, name) = id_and_name(p);
            if by_id
                .insert(
                    id.to_ascii_lowercase(),
                    (id.to_owned(), name.to_owned(), BTreeSet::new()),
                )
                .is_none()
            {
                order.push(id.to_ascii_lowercase());
            }
        }
        for a in &assignments {
            let Some((product, user)) = wire::assignment(a) else {
                continue; // Not reachable: the list's key needs both.
            };
            let entry = by_id
                .entry(product.to_ascii_lowercase())
                .or_insert_with(|| {
                    order.push(product.to_ascii_lowercase());
                    let name = wire::str_field(a, "productName").unwrap_or(product);
                    (product.to_owned(), name.to_owned(), BTreeSet::new())
                });
            entry.2.insert(AccountRef::new(user));
        }
        Ok(order
            .into_iter()
            .filter_map(|key| by_id.remove(&key))
            .map(|(id, name, members)| {
                let (reference, name) = as_group(&id, &name);
                ObservedGroup {
                    reference,
                    name,
                    members,
                    duplicates: Default::default(),
                }
            })
            .collect())
    }

    /// Every product from `/products` alone, as a group's reference and name (no holders).
    pub(super) async fn list_products(&self) -> Result<Vec<(GroupRef, String)>, ConnectorError> {
        let take = super::connector::PAGE_SIZE;
        let products = self.client.list("/products", product_key, take).await?;
        Ok(products
            .iter()
            .map(|p| {
                let (id, name) = id_and_name(p);
                as_group(id, name)
            })
            .collect())
    }

    /// Whether the user holds an assignment of `product`, from
    /// `/product-assignment/by-user/{guid}` (all pages); gone when the user is.
    async fn holds(
        &self,
        account: &AccountRef,
        product: &str,
    ) -> Result<Found<bool>, ConnectorError> {
        let path = format!("/product-assignment/by-user/{}", segment(account.as_str()));
        let take = super::connector::PAGE_SIZE;
        match self.client.list_pages(&path, assignment_key, take).await {
            Ok(items) => Ok(Found::Yes(items.iter().any(|a| {
                wire::assignment(a).is_some_and(|(p, _)| p.eq_ignore_ascii_case(product))
            }))),
            Err(Failure::Refused(r)) if r.user_not_found() => Ok(Found::Gone),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }

    /// Requests `product` for the user through self-service (requester: the user), unless an
    /// assignment of it exists. An uncertain request is checked against the user's
    /// assignments before the error goes back (and before any retry, which starts here
    /// again).
    #[instrument(skip_all, fields(target = %self.target, account = %account, group = %group))]
    pub(super) async fn grant_product(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        product: &str,
    ) -> Result<Outcome, ConnectorError> {
        match self.holds(account, product).await? {
            Found::Gone => return Err(self.account_gone(account)),
            Found::Yes(true) => return Ok(Outcome::Done),
            Found::Yes(false) => {}
        }
        let body = json!({
            "requestedProductGUID": product,
            "requestedByUserGUID": account.as_str(),
            "requestedForUserGUID": account.as_str(),
            "comment": REQUEST_COMMENT,
        });
        let sent = self
            .client
            .call(Method::POST, "/selfservice/products/request", Some(&body))
            .await;
        match sent {
            Ok(Reply { .. }) => {}
            Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => {
                debug!("Product request uncertain; checking the assignments.");
                return match self.holds(account, product).await {
                    Ok(Found::Yes(true)) => Ok(Outcome::Done),
                    _ => Err(e),
                };
            }
            Err(Failure::Refused(r)) if r.says_user_not_found() => {
                return Err(self.account_gone(account))
            }
            Err(Failure::Refused(r)) if r.status == 404 => return Err(self.group_gone(group)),
            Err(f) => return Err(f.into_error(&self.target)),
        }
        match self.holds(account, product).await? {
            Found::Yes(true) => Ok(Outcome::Done),
            Found::Yes(false) => {
                debug!("Product requested; not assigned yet (awaiting approval).");
                Ok(Outcome::Requested)
            }
            Found::Gone => Err(self.account_gone(account)),
        }
    }

    /// Withdraws `product` from the user: every assignment of it, with `executeActions` as
    /// configured. Nothing to withdraw (or no user) is already absent.
    #[instrument(skip_all, fields(target = %self.target, account = %account, group = %group))]
    pub(super) async fn revoke_product(
        &self,
        account: &AccountRef,
        group: &GroupRef,
        product: &str,
    ) -> Result<Outcome, ConnectorError> {
        match self.holds(account, product).await? {
            Found::Gone | Found::Yes(false) => return Ok(Outcome::AlreadyAbsent),
            Found::Yes(true) => {}
        }
        let body = json!({
            "productGUID": product,
            "userGUID": account.as_str(),
            "executeActions": self.execute_return_actions,
        });
        let path = "/product-assignment/unassign/by-product";
        match self.client.call(Method::POST, path, Some(&body)).await {
            Ok(_) => Ok(Outcome::Done),
            Err(Failure::Error(e @ ConnectorError::Uncertain { .. })) => {
                match self.holds(account, product).await {
                    Ok(Found::Yes(false) | Found::Gone) => Ok(Outcome::Done),
                    _ => Err(e),
                }
            }
            Err(Failure::Refused(r)) if r.says_user_not_found() => Ok(Outcome::AlreadyAbsent),
            Err(Failure::Refused(r)) if r.status == 404 => Err(self.group_gone(group)),
            Err(f) => Err(f.into_error(&self.target)),
        }
    }
}
