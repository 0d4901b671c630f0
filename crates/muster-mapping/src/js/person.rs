//! A person as the script sees it: `Person`, in the nested shape of the person model
//! (`ExternalId`, `DisplayName`, `Name.*`, `Contact.Business|Personal.*`, `Contracts[]`,
//! `PrimaryContract`, `Accounts.<System>.<field>`, `Custom.<name>`: a source's own facts, such
//! as a mailbox's `Custom.aliases`, as their JSON values).
//!
//! Every field of the model is present: a value Muster does not have is `null`, never
//! missing, so `Person.Name.FamilyNamePrefix` is `null` rather than `undefined` (HelloID's
//! scripts test both). Dates are `YYYY-MM-DD` strings, `Fte` a number. `PrimaryContract` is
//! the same object as its entry in `Contracts`, or `null` for a person without contracts.
//! Contracts have HelloID's shape: `Department` (`ExternalId`, `Code`, `DisplayName`),
//! `Title`, `Organization`, `Location`, `CostCenter`, `Division`, `Employer`, `Team`
//! (`ExternalId`, `Code`, `Name`) and `Manager` (`ExternalId`, `DisplayName`, `Email`) are
//! always objects, with `null` parts where Muster has no value, so
//! `Person.PrimaryContract.Department.DisplayName` never throws; `Fte` is both
//! `Details.Fte` (HelloID) and `Fte`.

use muster_core::model::{Contract, ContractField, Person};
use rquickjs::function::Args;
use rquickjs::{Array, Ctx, Function, Object, Persistent, Result, Value};

/// Object literals in compiled functions: QuickJS builds them from the bytecode's own shapes
/// and atoms, much faster than setting ~40 properties one by one from Rust. Compiled once per
/// worker; each script run gets its own, fresh `Person`, so what one script changes in it the
/// next never sees.
const FACTORIES: &str = r#"({
  person: function (ExternalId, DisplayName, GivenName, NickName, FamilyName, FamilyNamePrefix,
                    FamilyNamePartner, FamilyNamePartnerPrefix, Convention, Initials,
                    BusinessEmail, BusinessPhoneFixed, BusinessPhoneMobile,
                    PersonalEmail, PersonalPhoneFixed, PersonalPhoneMobile,
                    Contracts, Primary, Accounts, Custom) {
    return {
      ExternalId: ExternalId,
      DisplayName: DisplayName,
      Name: {
        GivenName: GivenName, NickName: NickName, FamilyName: FamilyName,
        FamilyNamePrefix: FamilyNamePrefix, FamilyNamePartner: FamilyNamePartner,
        FamilyNamePartnerPrefix: FamilyNamePartnerPrefix, Convention: Convention,
        Initials: Initials
      },
      Contact: {
        Business: { Email: BusinessEmail, PhoneFixed: BusinessPhoneFixed, PhoneMobile: BusinessPhoneMobile },
        Personal: { Email: PersonalEmail, PhoneFixed: PersonalPhoneFixed, PhoneMobile: PersonalPhoneMobile }
      },
      Contracts: Contracts,
      PrimaryContract: Primary < 0 ? null : Contracts[Primary],
      Accounts: Accounts,
      Custom: Custom
    };
  },
  contract: function (ExternalId, StartDate, EndDate, Fte,
                      DepId, DepCode, DepName, TitId, TitCode, TitName,
                      OrgId, OrgCode, OrgName, ManId, ManName, ManEmail,
                      LocId, LocCode, LocName, CosId, CosCode, CosName,
                      DivId, DivCode, DivName, EmpId, EmpCode, EmpName,
                      TeaId, TeaCode, TeaName) {
    return {
      ExternalId: ExternalId, StartDate: StartDate, EndDate: EndDate,
      Department: { ExternalId: DepId, Code: DepCode, DisplayName: DepName },
      Title: { ExternalId: TitId, Code: TitCode, Name: TitName },
      Organization: { ExternalId: OrgId, Code: OrgCode, Name: OrgName },
      Manager: { ExternalId: ManId, DisplayName: ManName, Email: ManEmail },
      Location: { ExternalId: LocId, Code: LocCode, Name: LocName },
      CostCenter: { ExternalId: CosId, Code: CosCode, Name: CosName },
      Division: { ExternalId: DivId, Code: DivCode, Name: DivName },
      Employer: { ExternalId: EmpId, Code: EmpCode, Name: EmpName },
      Team: { ExternalId: TeaId, Code: TeaCode, Name: TeaName },
      Details: { Fte: Fte },
      Fte: Fte
    };
  }
})"#;

/// The two factory functions of one worker.
pub(crate) struct Factories {
    person: Persistent<Function<'static>>,
    contract: Persistent<Function<'static>>,
}

impl Factories {
    pub(crate) fn new(ctx: &Ctx<'_>) -> Result<Self> {
        let o: Object = ctx.eval(FACTORIES)?;
        let person: Function = o.get("person")?;
        let contract: Function = o.get("contract")?;
        Ok(Self {
            person: Persistent::save(ctx, person),
            contract: Persistent::save(ctx, contract),
        })
    }
}

pub(crate) fn person<'js>(ctx: &Ctx<'js>, f: &Factories, p: &Person) -> Result<Value<'js>> {
    let contract_fn = f.contract.clone().restore(ctx)?;
    let contracts = Array::new(ctx.clone())?;
    for (i, c) in p.contracts.iter().enumerate() {
        contracts.set(i, contract(ctx, &contract_fn, c)?)?;
    }
    let accounts = Object::new(ctx.clone())?;
    for (system, fields) in &p.accounts {
        let a = Object::new(ctx.clone())?;
        for (field, value) in fields {
            a.set(field.as_str(), json(ctx, value)?)?;
        }
        accounts.set(system.as_str(), a)?;
    }
    let custom = Object::new(ctx.clone())?;
    for (name, value) in &p.custom {
        custom.set(name.as_str(), json(ctx, value)?)?;
    }
    let n = &p.name;
    let (b, q) = (&p.contact.business, &p.contact.personal);
    let mut args = Args::new(ctx.clone(), 20);
    args.push_arg(p.external_id.as_str())?;
    for v in [
        &p.display_name,
        &n.given_name,
        &n.nick_name,
        &n.family_name,
        &n.family_name_prefix,
        &n.family_name_partner,
        &n.family_name_partner_prefix,
        &n.convention,
        &n.initials,
        &b.email,
        &b.phone_fixed,
        &b.phone_mobile,
        &q.email,
        &q.phone_fixed,
        &q.phone_mobile,
    ] {
        args.push_arg(text(ctx, v.as_deref())?)?;
    }
    args.push_arg(contracts)?;
    args.push_arg(
        p.primary
            .filter(|i| *i < p.contracts.len())
            .map_or(-1, |i| i32::try_from(i).unwrap_or(-1)),
    )?;
    args.push_arg(accounts)?;
    args.push_arg(custom)?;
    f.person.clone().restore(ctx)?.call_arg(args)
}

fn contract<'js>(ctx: &Ctx<'js>, f: &Function<'js>, c: &Contract) -> Result<Value<'js>> {
    let date = |d: Option<chrono::NaiveDate>| text(ctx, d.map(|d| d.to_string()).as_deref());
    let mut args = Args::new(ctx.clone(), 31);
    args.push_arg(text(ctx, c.external_id.as_deref())?)?;
    args.push_arg(date(c.start_date)?)?;
    args.push_arg(date(c.end_date)?)?;
    args.push_arg(match c.fte {
        Some(f) => Value::new_number(ctx.clone(), f),
        None => Value::new_null(ctx.clone()),
    })?;
    // In the order of `ContractField::all()` and each field's `parts()`, as the factory's
    // parameters list them.
    for field in ContractField::all() {
        for (_, part) in field.parts() {
            args.push_arg(text(ctx, field.get_part(c, *part).as_deref())?)?;
        }
    }
    f.call_arg(args)
}

fn text<'js>(ctx: &Ctx<'js>, v: Option<&str>) -> Result<Value<'js>> {
    Ok(match v {
        Some(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        None => Value::new_null(ctx.clone()),
    })
}

/// A JSON value (account data) as a JavaScript value.
pub(crate) fn json<'js>(ctx: &Ctx<'js>, v: &serde_json::Value) -> Result<Value<'js>> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => Value::new_null(ctx.clone()),
        J::Bool(b) => Value::new_bool(ctx.clone(), *b),
        J::Number(n) => Value::new_number(ctx.clone(), n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        J::Array(items) => {
            let a = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                a.set(i, json(ctx, item)?)?;
            }
            a.into_value()
        }
        J::Object(map) => {
            let o = Object::new(ctx.clone())?;
            for (k, item) in map {
                o.set(k.as_str(), json(ctx, item)?)?;
            }
            o.into_value()
        }
    })
}
