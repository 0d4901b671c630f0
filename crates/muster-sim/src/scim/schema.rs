//! The resource schemas the simulator serves (RFC 7643 §4: core User, enterprise User extension,
//! core Group) as one table, and the checks that turn request JSON into stored attributes.
//!
//! The table is the single source for three things: `/Schemas` (rendered by `discovery`), case
//! sensitivity in filters, and the checks in `validate`. Ids, `meta` and storage belong to
//! `store`.

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Enterprise User extension URN.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The two resource types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/Users`
    User,
    /// `/Groups`
    Group,
}

impl Kind {
    /// Resource type name, as in `meta.resourceType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
        }
    }

    /// Path segment under the base URL.
    pub fn endpoint(self) -> &'static str {
        match self {
            Self::User => "Users",
            Self::Group => "Groups",
        }
    }

    /// The core schema.
    pub fn core(self) -> &'static SchemaDef {
        match self {
            Self::User => &USER,
            Self::Group => &GROUP,
        }
    }

    /// Extension schemas this type accepts.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        match self {
            Self::User => &USER_EXTENSIONS,
            Self::Group => &[],
        }
    }

    /// The extension whose URN is `urn`, compared without case.
    pub fn extension(self, urn: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    /// Core and extension schemas, for matching a URN prefix.
    pub fn schemas(self) -> impl Iterator<Item = &'static SchemaDef> {
        std::iter::once(self.core()).chain(self.extensions().iter().copied())
    }
}

/// Attribute data types (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

/// Who may write an attribute (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
}

/// One attribute definition.
#[derive(Debug)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: Ty,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub unique: bool,
    pub refs: &'static [&'static str],
    pub sub: &'static [AttrDef],
    pub description: &'static str,
}

/// One schema: its URN and attributes.
#[derive(Debug)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [AttrDef],
}

impl SchemaDef {
    /// The attribute named `name`, compared without case (RFC 7643 §2.1).
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.attrs
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

impl AttrDef {
    /// The sub-attribute named `name`, compared without case.
    pub fn sub_attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    const fn new(name: &'static str, ty: Ty, description: &'static str) -> Self {
        Self {
            name,
            ty,
            multi: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            unique: false,
            refs: &[],
            sub: &[],
            description,
        }
    }
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn write_only(mut self) -> Self {
        self.mutability = Mutability::WriteOnly;
        self.returned = Returned::Never;
        self
    }
    const fn always(mut self) -> Self {
        self.returned = Returned::Always;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn refs(mut self, refs: &'static [&'static str]) -> Self {
        self.refs = refs;
        self
    }
    const fn sub(mut self, sub: &'static [AttrDef]) -> Self {
        self.sub = sub;
        self
    }
}

const fn string(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::new(name, Ty::String, d)
}
const fn boolean(name: &'static str, d: &'static str) -> AttrDef {
    AttrDef::new(name, Ty::Boolean, d)
}
const fn complex(name: &'static str, d: &'static str, sub: &'static [AttrDef]) -> AttrDef {
    AttrDef::new(name, Ty::Complex, d).sub(sub)
}

/// Sub-attributes shared by emails, phoneNumbers, ims, entitlements and roles.
const PLURAL: &[AttrDef] = &[
    string("value", "The value."),
    string("display", "A human-readable name."),
    string("type", "A label, e.g. 'work' or 'home'."),
    boolean("primary", "Whether this is the primary value."),
];
const PHOTOS: &[AttrDef] = &[
    AttrDef::new("value", Ty::Reference, "URL of the photo.").refs(&["external"]),
    string("display", "A human-readable name."),
    string("type", "'photo' or 'thumbnail'."),
    boolean("primary", "Whether this is the primary photo."),
];
const CERTS: &[AttrDef] = &[
    AttrDef::new("value", Ty::Binary, "DER certificate, base64."),
    string("display", "A human-readable name."),
    string("type", "A label."),
    boolean("primary", "Whether this is the primary certificate."),
];
const ADDRESSES: &[AttrDef] = &[
    string("formatted", "Full mailing address."),
    string("streetAddress", "Street."),
    string("locality", "City."),
    string("region", "State or region."),
    string("postalCode", "Postal code."),
    string("country", "ISO 3166-1 alpha-2 country code."),
    string("type", "'work', 'home' or 'other'."),
    boolean("primary", "Whether this is the primary address."),
];
const NAME: &[AttrDef] = &[
    string("formatted", "The full name."),
    string("familyName", "Family name."),
    string("givenName", "Given name."),
    string("middleName", "Middle name."),
    string("honorificPrefix", "Prefix, e.g. 'Ms.'."),
    string("honorificSuffix", "Suffix, e.g. 'III'."),
];
const USER_GROUPS: &[AttrDef] = &[
    string("value", "Group id.").exact().read_only(),
    AttrDef::new("$ref", Ty::Reference, "Group URI.")
        .refs(&["Group"])
        .read_only(),
    string("display", "Group display name.").read_only(),
    string("type", "'direct' or 'indirect'.").read_only(),
];
const MEMBERS: &[AttrDef] = &[
    string("value", "Member id.").exact().immutable(),
    AttrDef::new("$ref", Ty::Reference, "Member URI.")
        .refs(&["User", "Group"])
        .immutable(),
    string("display", "Member display name.").read_only(),
    string("type", "'User' or 'Group'.").immutable(),
];
const MANAGER: &[AttrDef] = &[
    string("value", "The manager's id.").exact(),
    AttrDef::new("$ref", Ty::Reference, "The manager's URI.").refs(&["User"]),
    string("displayName", "The manager's name.").read_only(),
];
const META: &[AttrDef] = &[
    string("resourceType", "Resource type.").exact().read_only(),
    AttrDef::new("created", Ty::DateTime, "Creation time.").read_only(),
    AttrDef::new("lastModified", Ty::DateTime, "Last change.").read_only(),
    AttrDef::new("location", Ty::Reference, "Resource URI.")
        .exact()
        .read_only(),
    string("version", "Entity tag.").exact().read_only(),
];

/// Attributes every resource has (RFC 7643 §3.1); not listed in `/Schemas`.
pub static COMMON: [AttrDef; 3] = [
    string("id", "Server-assigned identifier.")
        .exact()
        .read_only()
        .always()
        .unique(),
    string("externalId", "The client's identifier.").exact(),
    complex("meta", "Resource metadata.", META).read_only(),
];

static USER: SchemaDef = SchemaDef {
    id: USER_SCHEMA,
    name: "User",
    description: "User Account",
    attrs: &[
        string("userName", "Unique login name.").required().unique(),
        complex("name", "The person's name.", NAME),
        string("displayName", "Name to display."),
        string("nickName", "Casual name."),
        AttrDef::new("profileUrl", Ty::Reference, "Profile page.").refs(&["external"]),
        string("title", "Job title."),
        string("userType", "Relationship to the organisation."),
        string("preferredLanguage", "Preferred language."),
        string("locale", "Locale."),
        string("timezone", "Time zone."),
        boolean("active", "Whether the account may sign in."),
        string("password", "Cleartext password; never returned.").write_only(),
        complex("emails", "E-mail addresses.", PLURAL).multi(),
        complex("phoneNumbers", "Phone numbers.", PLURAL).multi(),
        complex("ims", "Instant messaging addresses.", PLURAL).multi(),
        complex("photos", "Photo URLs.", PHOTOS).multi(),
        complex("addresses", "Physical addresses.", ADDRESSES).multi(),
        complex(
            "groups",
            "Groups the user is a direct member of.",
            USER_GROUPS,
        )
        .multi()
        .read_only(),
        complex("entitlements", "Entitlements.", PLURAL).multi(),
        complex("roles", "Roles.", PLURAL).multi(),
        complex("x509Certificates", "Certificates.", CERTS).multi(),
    ],
};

static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE];

static ENTERPRISE: SchemaDef = SchemaDef {
    id: ENTERPRISE_SCHEMA,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attrs: &[
        string("employeeNumber", "Employee number."),
        string("costCenter", "Cost center."),
        string("organization", "Organisation."),
        string("division", "Division."),
        string("department", "Department."),
        complex("manager", "The user's manager.", MANAGER),
    ],
};

static GROUP: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA,
    name: "Group",
    description: "Group",
    attrs: &[
        string("displayName", "Name of the group.").required(),
        complex("members", "Members of the group.", MEMBERS).multi(),
    ],
};

/// Finds an attribute of `kind`: a common attribute, a core one, or one of `schema`'s.
pub fn find_attr(kind: Kind, schema: Option<&str>, name: &str) -> Option<&'static AttrDef> {
    match schema {
        Some(urn) if !urn.eq_ignore_ascii_case(kind.core().id) => kind.extension(urn)?.attr(name),
        _ => COMMON
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .or_else(|| kind.core().attr(name)),
    }
}

/// Whether values of `attr` (or its `sub`) compare with case. Unknown names compare without.
pub fn case_exact(kind: Kind, schema: Option<&str>, attr: &str, sub: Option<&str>) -> bool {
    let Some(def) = find_attr(kind, schema, attr) else {
        return false;
    };
    match sub {
        Some(s) => def.sub_attr(s).is_some_and(|d| d.case_exact),
        // A complex multi-valued attribute filtered as a whole compares its `value`.
        None if def.ty == Ty::Complex => def.sub_attr("value").is_some_and(|d| d.case_exact),
        None => def.case_exact,
    }
}

/// Every schema served.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&USER, &ENTERPRISE, &GROUP]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_name_is_case_insensitive_and_external_id_exact() {
        assert!(!case_exact(Kind::User, None, "userName", None));
        assert!(case_exact(Kind::User, None, "externalId", None));
        assert!(case_exact(Kind::Group, None, "members", Some("value")));
    }
}
